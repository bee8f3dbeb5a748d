"""Subscribe to an MQTT topic with micropython-lib's umqtt.simple, unmodified, over the
cellular module, and print the messages that arrive; stop after COUNT of them.

    python examples/mqtt_subscribe.py /dev/ttyUSB0 test.mosquitto.org 1883 atmodem/example 3

umqtt.simple: `mpremote mip install umqtt.simple` on a board; on CPython put it on the path
(`./run python -m tools.mplibs` prints a folder that holds it)."""
import sys

import atmodem

# Your set-up; the command line overrides them: PORT [BROKER [BROKER_PORT [TOPIC [COUNT]]]].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
BROKER, BROKER_PORT = "test.mosquitto.org", 1883
TOPIC = "atmodem/example"
COUNT = 3  # messages to wait for

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
BROKER = args[1] if len(args) > 1 else BROKER
BROKER_PORT = int(args[2]) if len(args) > 2 else BROKER_PORT
TOPIC = args[3] if len(args) > 3 else TOPIC
COUNT = int(args[4]) if len(args) > 4 else COUNT

modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
print("module:", modem.start())
print("address:", modem.attach(apn=APN))

# umqtt.simple does `import usocket as socket`: give it the modem's sockets under that name
# before importing it. Only this library sees them; Wi-Fi sockets stay as they were.
sys.modules["usocket"] = modem.sockets()
if sys.implementation.name != "micropython":  # CPython: MicroPython's names for two modules
    import binascii
    import struct

    sys.modules["ustruct"] = struct
    sys.modules["ubinascii"] = binascii
from umqtt.simple import MQTTClient  # noqa: E402

received = []


def on_message(topic, msg):
    received.append(msg)
    print("message %d on %s: %s" % (len(received), topic.decode(), msg.decode()))


client = MQTTClient(b"atmodem-subscriber", BROKER, BROKER_PORT, keepalive=60)
client.set_callback(on_message)
client.connect()
client.subscribe(TOPIC.encode())  # returns once the broker acknowledged (SUBACK)
print("subscribed to", TOPIC)
while len(received) < COUNT:
    client.wait_msg()  # blocks until the broker sends something; on_message gets messages
client.disconnect()
modem.close()
