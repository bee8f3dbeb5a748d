"""Publish a few MQTT messages with micropython-lib's umqtt.simple, unmodified, over the
cellular module: the library gets the modem's sockets as its socket module.

    python examples/mqtt_publish.py /dev/ttyUSB0 test.mosquitto.org 1883

umqtt.simple: `mpremote mip install umqtt.simple` on a board; on CPython put it on the path
(`./run python -m tools.mplibs` prints a folder that holds it)."""
import sys

import atmodem

# Your set-up; the command line overrides them: PORT [BROKER [BROKER_PORT]].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
BROKER, BROKER_PORT = "test.mosquitto.org", 1883
TOPIC = b"atmodem/example"

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
BROKER = args[1] if len(args) > 1 else BROKER
BROKER_PORT = int(args[2]) if len(args) > 2 else BROKER_PORT

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

client = MQTTClient(b"atmodem-example", BROKER, BROKER_PORT, keepalive=60)
client.connect()
for i in range(3):
    client.publish(TOPIC, b"hello %d from atmodem" % i, qos=1)  # QoS 1: the broker acknowledges
    print("published", i)
client.disconnect()
modem.close()
