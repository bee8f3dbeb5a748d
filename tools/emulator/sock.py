"""One socket of a virtual module: its host connection, the module-side receive buffer,
the send buffer, and the two threads that move bytes to and from the network."""
from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Optional

from . import netconn

if TYPE_CHECKING:
    from .module import Module

RX_CAP = 65536  # bytes a socket holds in the module before it stops reading the network


class Sock:
    """One module socket: state, the module-side receive buffer and the send buffer."""

    def __init__(self, m: "Module", sid: int, kind: str, host: str, rport: int, lport: int):
        self.m = m
        self.id = sid
        self.kind = kind  # "TCP", "UDP", "TCP LISTENER", "UDP SERVICE"
        self.host = host
        self.rport = rport
        self.lport = lport
        self.tls = False
        self.state = "opening"  # opening, open, listening, closed (by peer or link)
        self.conn: Optional[netconn.Conn] = None
        self.listener: Optional[socket.socket] = None
        self.rx = bytearray()
        self.dgrams: list = []  # UDP: [bytearray, (ip, port)] in arrival order
        self.txq: list = []
        self.tx_len = 0
        self.queued = 0  # bytes ever queued: queued - tx_len have left for the network
        self.acked_told = 0  # how many of them an acknowledgement notice reported
        self.hold = False  # fault: network stops taking data
        self.xoff = False
        self.dead = False
        self.aborted = False
        self.buffered = False  # received data waits in the module (else goes to the UART)
        self.transparent = False
        self.notified = False  # buffer-mode "data waiting" URC sent and not yet drained

    def rx_len(self) -> int:
        if self.dgrams:
            return sum(len(d) for d, _ in self.dgrams)
        return len(self.rx)

    def keep(self, data: bytes, addr) -> None:
        if self.kind.startswith("UDP"):
            self.dgrams.append([bytearray(data), addr])
        else:
            self.rx += data

    def take(self, n: int):
        """Up to n held bytes (one whole datagram at most) and the peer they came from."""
        if self.dgrams:
            d, addr = self.dgrams.pop(0)
            return bytes(d[:n]), addr  # the rest of a datagram read short is gone [SPEC]
        out = bytes(self.rx[:n])
        del self.rx[:n]
        return out, None

    def queue(self, data: bytes, addr=None) -> None:
        self.txq.append((data, addr))
        self.tx_len += len(data)
        self.queued += len(data)
        self.m.cond.notify_all()

    def start(self, conn: netconn.Conn) -> None:
        self.conn = conn
        self.state = "open"
        netconn.spawn(self._reader)
        netconn.spawn(self._sender)

    def _reader(self) -> None:
        m = self.m
        conn = self.conn
        assert conn is not None, "start() gives the socket its connection"
        udp = self.kind.startswith("UDP")
        while True:
            with m.cond:
                m.cond.wait_for(lambda: self.dead or not self.buffered or self.rx_len() < RX_CAP)
                if self.dead:
                    return
                buffered = self.buffered
            if not buffered:
                m.wait_line_room()
            try:
                if udp:
                    data, addr = conn.recvfrom(65536)
                else:
                    data, addr = conn.recv(1460), None
            except ConnectionRefusedError:
                if udp:  # ICMP unreachable from an earlier datagram: UDP does not care
                    continue
                data, addr = None, None
            except OSError:
                data, addr = None, None
            with m.cond:
                # A response that waits on the network must not be split by this socket's URCs.
                m.cond.wait_for(lambda: not m.responding or self.dead)
                if self.dead:
                    return
                if data:
                    m.sock_rx(self, data, addr)
                elif not (udp and data == b""):
                    m.sock_lost(self, peer_closed=data == b"")
                    return

    def _sender(self) -> None:
        m = self.m
        conn = self.conn
        assert conn is not None, "start() gives the socket its connection"
        rest: list = []
        while True:
            with m.cond:
                m.cond.wait_for(lambda: self.dead or (self.txq and not self.hold))
                if self.dead:
                    rest = [] if (self.aborted or self.hold) else list(self.txq)
                    self.txq.clear()
                    break
                data, addr = self.txq.pop(0)
            try:
                conn.send_all(data, addr)
            except OSError:
                with m.lock:
                    if not self.dead:
                        m.sock_lost(self, peer_closed=False)
                return
            with m.cond:
                self.tx_len -= len(data)
                m.cond.notify_all()
                if not self.dead:
                    m.tx_drained(self)
        # Closed by the host: what the module accepted still goes out, then the FIN.
        try:
            for data, addr in rest:
                conn.send_all(data, addr)
        except OSError:
            pass
        if not self.aborted:
            conn.close()

    def kill(self, abort: bool = False) -> None:
        """Stop the threads and release the host socket (abort: RST, queued data dropped;
        otherwise the sender thread sends what is queued and closes)."""
        self.dead = True
        self.aborted = abort
        self.state = "closed"
        self.m.cond.notify_all()
        if self.listener is not None:
            self.listener.close()
        if self.conn is None:
            return
        if abort:
            self.conn.abort()
            return
        try:  # wake the reader (no FIN yet: the sender closes after the queue)
            self.conn.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
