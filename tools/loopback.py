"""Loopback peers for the emulator's sockets: TCP/TLS echo, UDP echo, and a scripted TCP
server. Threads, bounded to the process; every server binds 127.0.0.1 only."""
from __future__ import annotations

import socket
import ssl
import threading
from typing import Callable, List, Optional


class TcpServer:
    """Accepts on 127.0.0.1:port and runs handler(conn) in a thread per client."""

    data = b""  # what a source or speaker server sends (set by those factories)

    def __init__(self, handler: Callable[[socket.socket], object], tls: Optional[ssl.SSLContext] = None):
        self.handler = handler
        self.tls = tls
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.clients: List[socket.socket] = []
        self.errors: List[BaseException] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self.clients.append(conn)
            self.handler(conn)
        except (OSError, ssl.SSLError) as e:
            self.errors.append(e)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        for c in self.clients:
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def echo(conn: socket.socket) -> None:
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def swallow(conn: socket.socket) -> None:
    """Takes everything, says nothing (a silent peer), until the client goes."""
    while conn.recv(65536):
        pass


def echo_server(tls: Optional[ssl.SSLContext] = None) -> TcpServer:
    return TcpServer(echo, tls)


class UdpEcho:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
                self.sock.sendto(data, addr)
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class UdpFlood(UdpEcho):
    """Answers a datagram b"<count> <size>" with count datagrams of size bytes, each
    starting with its 8-digit sequence number, sent back to back."""

    def _run(self) -> None:
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
                count, size = (int(x) for x in data.split())
                for i in range(count):
                    self.sock.sendto((b"%08d" % i).ljust(size, b"."), addr)
            except (OSError, ValueError):
                return


def source_server(size: int, chunk: int = 16384, tls: Optional[ssl.SSLContext] = None) -> TcpServer:
    """Sends size pseudo-random bytes to each client once it has sent one byte (so the
    clock can start after connect), then closes (download benchmarks)."""
    import os

    data = os.urandom(size)

    def handler(conn: socket.socket) -> None:
        if not conn.recv(1):
            return
        mv = memoryview(data)
        for i in range(0, size, chunk):
            conn.sendall(mv[i : i + chunk])
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    srv = TcpServer(handler, tls)
    srv.data = data
    return srv


def speaker(size: int, chunk: int = 65536) -> TcpServer:
    """Sends size random bytes the moment a client connects (a server that speaks first),
    then closes; `data` is what it sends."""
    import os

    data = os.urandom(size)

    def handler(conn: socket.socket) -> None:
        mv = memoryview(data)
        for i in range(0, size, chunk):
            conn.sendall(mv[i : i + chunk])
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    srv = TcpServer(handler)
    srv.data = data
    return srv


class SinkServer(TcpServer):
    """Counts what each client sends; `wait(n)` blocks until n bytes arrived (uploads)."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None):
        self.received = 0
        self.cond = threading.Condition()
        super().__init__(self._sink, tls)

    def _sink(self, conn: socket.socket) -> None:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            with self.cond:
                self.received += len(data)
                self.cond.notify_all()

    def wait(self, n: int, timeout: float = 60.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.received >= n, timeout)


class HttpServer:
    """Loopback HTTP(S) for client tests:
    GET /bytes/N     N bytes with Content-Length      GET /chunked/N  N bytes, chunked
    POST /sha256     answers the body's length and SHA-256 (Content-Length or chunked body)
    Bodies are bytes(range(256)) repeated; X-SHA256 carries their hash."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None):
        import hashlib
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self, n):
                block = bytes(range(256)) * 64
                return (block * (n // len(block) + 1))[:n]

            def do_GET(self):
                parts = self.path.strip("/").split("/")
                n = int(parts[1])
                body = self._body(n)
                self.send_response(200)
                self.send_header("X-SHA256", hashlib.sha256(body).hexdigest())
                self.send_header("Connection", "close")
                if parts[0] == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, n, 5000):
                        piece = body[i : i + 5000]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(n))
                    self.end_headers()
                    self.wfile.write(body)

            def do_POST(self):
                h = hashlib.sha256()
                size = 0
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    while True:
                        n = int(self.rfile.readline().split(b";")[0], 16)
                        if not n:
                            self.rfile.readline()
                            break
                        d = self.rfile.read(n)
                        h.update(d)
                        size += len(d)
                        self.rfile.readline()
                else:
                    left = int(self.headers["Content-Length"])
                    while left:
                        d = self.rfile.read(min(left, 65536))
                        h.update(d)
                        size += len(d)
                        left -= len(d)
                answer = b"%d %s" % (size, h.hexdigest().encode())
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(answer)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
