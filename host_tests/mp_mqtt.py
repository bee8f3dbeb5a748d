"""chumicro-mqtt (from PyPI, nobody here wrote it) through atmodem under the micropython
binary, against a real broker: micropython mp_mqtt.py <tty> <dialect> <broker port>"""
import os
import sys

import atmodem
from atmodem import compat
from chumicro_mqtt.client import MQTTClient

path, dialect, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
m.attach(apn="cmnet")


class Ticks:
    ticks_ms = staticmethod(compat.ticks_ms)
    ticks_add = staticmethod(compat.ticks_add)
    ticks_diff = staticmethod(compat.ticks_diff)


sock = m.socket(rxbuf=131072)
sock.settimeout(20)
sock.connect(("127.0.0.1", port))
c = MQTTClient(sock, client_id="atmodem-%s" % dialect, ticks=Ticks, rx_buffer_size=70000)
got = []
c.on_message = lambda topic, payload: got.append((topic, bytes(payload)))
subscribed = []
c.connect()


def run_until(pred, what, ms=20000):
    deadline = compat.ticks_add(compat.ticks_ms(), ms)
    while not pred():
        if compat.ticks_diff(deadline, compat.ticks_ms()) <= 0:
            raise AssertionError("timed out waiting for " + what + " (state %s, %r)" % (c.state, c.last_error))
        c.handle(compat.ticks_ms())
        m.poll(5)


run_until(lambda: c.state == "connected", "CONNACK")
c.subscribe("atmodem/t", qos=1, on_subscribe=lambda t, q: subscribed.append(q))
run_until(lambda: subscribed, "SUBACK")
messages = [(b"qos 0 hello", 0), (b"qos 1 hello", 1), (os.urandom(64 * 1024), 1)]
for payload, qos in messages:
    c.publish("atmodem/t", payload, qos=qos)
    run_until(lambda: len(got) >= 1, "the broker's copy of a %d-byte message" % len(payload))
    topic, body = got.pop(0)
    assert topic == "atmodem/t" and body == payload, (topic, len(body), len(payload))
c.disconnect()
m.close()
print("PASS")
