"""A real MQTT client library, unmodified, through atmodem while its subscription is flooded.
Runs under the micropython binary and on CPython:

    mqtt_flood_client.py <tty> <dialect> <broker port> <library> [socket mode]

library: umqtt.simple | umqtt.simple2 | chumicro. socket mode: "default" (what the driver
picks when a program says nothing) or a mode name, for comparing modes.

The client subscribes to FLOOD (which the test floods from the host) and to OWN, prints READY,
waits for the first flood message, publishes OWN_SIZES to OWN, and prints OWN-DONE once its own
messages came back; the host then ends the flood with an END message carrying the count.
Every payload is <seq: 4 bytes><body length: 4 bytes><sha256 of body: 32 bytes><body>: the
client checks every length and digest and that sequence numbers arrive in order without a gap,
and prints PASS."""
import os
import sys
from hashlib import sha256

import atmodem
from atmodem import compat

FLOOD = "atmodem/flood"
OWN = "atmodem/own"
OWN_SIZES = ((1024, 1), (4096, 0), (16384, 1))  # (bytes, QoS)
END = 0xFFFFFFFF
HEAD = 40


def say(line):
    sys.stdout.write(line + "\n")
    flush = getattr(sys.stdout, "flush", None)
    if flush:
        flush()


def message(seq, body):
    return seq.to_bytes(4, "big") + len(body).to_bytes(4, "big") + sha256(body).digest() + body


class Check:
    """What arrived: every payload intact, each topic's sequence in order."""

    def __init__(self):
        self.own_sent = [message(i, os.urandom(n)) for i, (n, _) in enumerate(OWN_SIZES)]
        self.own_got = 0
        self.flood_got = 0
        self.flood_bytes = 0
        self.end = None

    def on_message(self, topic, payload):
        if not isinstance(topic, str):
            topic = bytes(topic).decode()
        payload = bytes(payload)
        seq, n = int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:8], "big")
        if len(payload) != HEAD + n:
            raise AssertionError("%s #%d: %d bytes of a %d-byte message" % (topic, seq, len(payload), HEAD + n))
        if sha256(payload[HEAD:]).digest() != payload[8:HEAD]:
            raise AssertionError("%s #%d: %d bytes, digest mismatch" % (topic, seq, len(payload)))
        if topic == OWN:
            if payload != self.own_sent[self.own_got]:
                raise AssertionError("own message #%d expected, got #%d (%d bytes)" % (self.own_got, seq, len(payload)))
            self.own_got += 1
        elif topic != FLOOD:
            raise AssertionError("message on %r" % topic)
        elif seq == END:
            if int(payload[HEAD:]) != self.flood_got:
                raise AssertionError("flood ended after %s messages, %d arrived" % (payload[HEAD:], self.flood_got))
            self.end = self.flood_got
        elif seq != self.flood_got:
            raise AssertionError("flood message #%d arrived when #%d was next" % (seq, self.flood_got))
        else:
            self.flood_got += 1
            self.flood_bytes += len(payload)

    def own_done(self):
        return self.own_got == len(OWN_SIZES)


def run_umqtt_simple(sockets, port, chk):
    sys.modules["usocket"] = sockets  # the library does `import usocket as socket`
    if sys.implementation.name != "micropython":
        import binascii
        import struct

        sys.modules["ustruct"] = struct  # MicroPython's names for these modules
        sys.modules["ubinascii"] = binascii
    from umqtt.simple import MQTTClient

    c = MQTTClient(b"atmodem-simple", "127.0.0.1", port)
    c.set_callback(chk.on_message)
    c.connect()
    c.subscribe(FLOOD.encode(), 0)
    c.subscribe(OWN.encode(), 1)
    if c.check_msg() is not None:  # non-blocking and idle: read(1) gives None
        raise AssertionError("a message before the flood")
    c.ping()
    c.wait_msg()  # PINGRESP
    say("READY")
    while not chk.flood_got:
        c.wait_msg()
    for payload, (_, qos) in zip(chk.own_sent, OWN_SIZES):
        c.publish(OWN.encode(), payload, qos=qos)  # QoS 1 waits for PUBACK amid the flood
    while not chk.own_done():
        c.wait_msg()
    say("OWN-DONE")
    while chk.end is None:
        c.wait_msg()
    c.disconnect()


def run_umqtt_simple2(sockets, port, chk):
    sys.modules["usocket"] = sockets
    from umqtt.simple2 import MQTTClient

    status = {}
    c = MQTTClient(b"atmodem-simple2", "127.0.0.1", port)
    c.set_callback(lambda topic, msg, retained, dup: chk.on_message(topic, msg))
    c.set_callback_status(lambda pid, st: status.__setitem__(pid, st))

    def acked(pid):
        st = status.get(pid)
        if st is not None and st != 1:
            raise AssertionError("packet %d: status %d (0: timed out)" % (pid, st))
        return st == 1

    c.connect()
    subs = [c.subscribe(FLOOD.encode(), 0), c.subscribe(OWN.encode(), 1)]
    while not all(acked(p) for p in subs):
        c.wait_msg()
    say("READY")
    while not chk.flood_got:
        c.wait_msg()
    pids = [c.publish(OWN.encode(), p, qos=q) for p, (_, q) in zip(chk.own_sent, OWN_SIZES)]
    while not (chk.own_done() and all(acked(p) for p in pids if p)):
        c.wait_msg()
    say("OWN-DONE")
    while chk.end is None:
        c.wait_msg()
    c.disconnect()


class Ticks:
    ticks_ms = staticmethod(compat.ticks_ms)
    ticks_add = staticmethod(compat.ticks_add)
    ticks_diff = staticmethod(compat.ticks_diff)


def run_chumicro(m, sockets, port, chk):
    from chumicro_mqtt.client import MQTTClient

    sock = sockets.socket()
    sock.settimeout(20)
    sock.connect(("127.0.0.1", port))
    # A PUBACK waits behind the flood the broker queued before it: a retried 16 KiB
    # PUBLISH would come back twice, so allow more than the 5 s default.
    c = MQTTClient(sock, client_id="atmodem-chumicro", ticks=Ticks, rx_buffer_size=OWN_SIZES[-1][0] + 256,
                   ack_timeout_seconds=15)
    c.on_message = chk.on_message
    acks = []

    def run_until(pred, what, ms=20000):
        deadline = compat.ticks_add(compat.ticks_ms(), ms)
        while not pred():
            if compat.ticks_diff(deadline, compat.ticks_ms()) <= 0:
                raise AssertionError("timed out waiting for %s (state %s, %r)" % (what, c.state, c.last_error))
            if c.last_error is not None:
                raise AssertionError("%s: %r" % (what, c.last_error))
            c.handle(compat.ticks_ms())
            m.poll(5)

    c.connect()
    run_until(lambda: c.state == "connected", "CONNACK")
    c.subscribe(FLOOD, qos=0, on_subscribe=lambda t, q: acks.append(q))
    c.subscribe(OWN, qos=1, on_subscribe=lambda t, q: acks.append(q))
    run_until(lambda: len(acks) == 2, "SUBACK")
    say("READY")
    run_until(lambda: chk.flood_got, "the flood")
    for payload, (_, qos) in zip(chk.own_sent, OWN_SIZES):
        c.publish(OWN, payload, qos=qos, on_publish=(lambda t, p: acks.append("puback")) if qos else None)
    run_until(lambda: chk.own_done() and acks.count("puback") == 2, "our own messages and their PUBACKs")
    say("OWN-DONE")
    run_until(lambda: chk.end is not None, "the END of the flood")
    c.disconnect()


def main(argv):
    path, dialect, port, lib = argv[1], argv[2], int(argv[3]), argv[4]
    mode = argv[5] if len(argv) > 5 else "default"
    m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect)
    m.start()
    m.attach(apn="cmnet")
    sockets = m.sockets()
    if mode != "default":  # compare modes: new sockets get this one
        make = sockets.socket
        sockets.socket = lambda *a, **kw: make(*a, mode=mode, **kw)
    chk = Check()
    try:
        if lib == "umqtt.simple":
            run_umqtt_simple(sockets, port, chk)
        elif lib == "umqtt.simple2":
            run_umqtt_simple2(sockets, port, chk)
        elif lib == "chumicro":
            run_chumicro(m, sockets, port, chk)
        else:
            raise ValueError("library must be umqtt.simple, umqtt.simple2 or chumicro, not %r" % lib)
    finally:
        own_bytes = sum(len(p) for p in chk.own_sent[: chk.own_got])
        say("RECEIVED flood=%d flood_bytes=%d own=%d own_bytes=%d" % (chk.flood_got, chk.flood_bytes, chk.own_got, own_bytes))
        m.close()
    say("PASS")


main(sys.argv)
