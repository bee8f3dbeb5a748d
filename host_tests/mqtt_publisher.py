"""The host side of the MQTT flood: a minimal MQTT 3.1.1 QoS 0 publisher over a plain socket
(no client library on the host), and a thread that floods a topic at a set rate with numbered,
hashed messages in the format host_tests/mqtt_flood_client.py checks."""
from __future__ import annotations

import hashlib
import os
import random
import socket
import threading
import time
from typing import Optional, Tuple

END = 0xFFFFFFFF


def message(seq: int, body: bytes) -> bytes:
    return seq.to_bytes(4, "big") + len(body).to_bytes(4, "big") + hashlib.sha256(body).digest() + body


def _string(s: bytes) -> bytes:
    return len(s).to_bytes(2, "big") + s


def _packet(first: int, body: bytes) -> bytes:
    n, length = len(body), bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        length.append(digit | (0x80 if n else 0))
        if not n:
            return bytes([first]) + bytes(length) + body


class Publisher:
    """CONNECT (clean session, no keep-alive), QoS 0 PUBLISH, DISCONNECT."""

    def __init__(self, port: int, client_id: str, host: str = "127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(_packet(0x10, _string(b"MQTT") + bytes([4, 2, 0, 0]) + _string(client_id.encode())))
        connack = b""
        while len(connack) < 4:
            got = self.sock.recv(4 - len(connack))
            if not got:
                raise ConnectionError("the broker closed the connection before CONNACK")
            connack += got
        if connack != b"\x20\x02\x00\x00":
            raise ConnectionError("the broker refused the connection: CONNACK %r" % connack)

    def publish(self, topic: str, payload: bytes) -> None:
        self.sock.sendall(_packet(0x30, _string(topic.encode()) + payload))

    def close(self) -> None:
        self.sock.sendall(_packet(0xE0, b""))
        self.sock.close()


class Flood(threading.Thread):
    """Publishes messages of random sizes to `topic` at `rate` payload bytes per second from
    start() until stop(), then an END message that carries how many went before it."""

    def __init__(self, port: int, topic: str, rate: float, sizes: Tuple[int, int] = (200, 1200)):
        super().__init__(daemon=True)
        self.port, self.topic, self.rate, self.sizes = port, topic, rate, sizes
        self.count = 0
        self.bytes = 0
        self.started = 0.0
        self.stopped = 0.0
        self.error: Optional[BaseException] = None
        self._stop_flag = threading.Event()

    def run(self) -> None:
        try:
            pub = Publisher(self.port, "host-flood")
            rng = random.Random(self.port)
            self.started = time.monotonic()
            while not self._stop_flag.is_set():
                # pace: the next message leaves when the bytes so far are due at `rate`
                ahead = self.started + self.bytes / self.rate - time.monotonic()
                if ahead > 0:
                    self._stop_flag.wait(ahead)
                    continue
                payload = message(self.count, os.urandom(rng.randint(*self.sizes)))
                pub.publish(self.topic, payload)
                self.count += 1
                self.bytes += len(payload)
            self.stopped = time.monotonic()
            pub.publish(self.topic, message(END, b"%d" % self.count))
            pub.close()
        except BaseException as e:  # reported by stop()
            self.error = e

    def stop(self) -> float:
        """Ends the flood; the payload rate it held, in bytes per second."""
        self._stop_flag.set()
        self.join(10)
        if self.error is not None:
            raise self.error
        return self.bytes / (self.stopped - self.started)
