"""Per-dialect words for emulator tests that run the same scenario on both modules."""
from __future__ import annotations


class NM28Words:
    name = "nm28"
    first_id = 1

    def online(self, c):
        c.cmd("ATE0")
        c.cmd("AT+CGACT=1,1")

    def open_tcp(self, c, port, sid=1, host="127.0.0.1"):
        c.cmd('AT+IPOPEN=%d,"TCP","%s",%d,0,0' % (sid, host, port), b"\r\nOK\r\n\r\n+IPOPEN: %d,0\r\n" % sid)

    def open_refused(self, c, port, sid=1):
        c.cmd('AT+IPOPEN=%d,"TCP","127.0.0.1",%d,0,0' % (sid, port), b"\r\nOK\r\n\r\n+IPOPEN: %d,1\r\n" % sid)

    def send(self, c, data, sid=1):
        c.cmd("AT+IPSEND=%d,%d" % (sid, len(data)), b"\r\nNETWRITE: %d,%d\r\n\r\nCONNECT\r\n" % (sid, len(data)))
        c.send(data)
        c.expect(b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")

    def pushed(self, data, sid=1):
        return b'\r\n+IPURC: "recv",%d,%d\r\n%s\r\n' % (sid, len(data), data)

    def closed(self, sid=1):
        return b'\r\n+IPURC: "closed",%d\r\n' % sid

    def transparent(self, c, port, sid=1):
        self.open_tcp(c, port, sid)
        c.cmd("AT+IPSWTMD=%d,2" % sid, b"\r\nCONNECT\r\n")


class L610Words:
    name = "l610"
    first_id = 1

    def online(self, c):
        c.cmd("ATE0")
        c.cmd('AT+GTSET="IPRFMT",2')
        c.cmd('AT+MIPCALL=1,"cmnet"', b"\r\nOK\r\n\r\n+MIPCALL: 10.166.80.147\r\n")

    def open_tcp(self, c, port, sid=1, host="127.0.0.1"):
        c.cmd('AT+MIPOPEN=%d,,"%s",%d,0' % (sid, host, port), b"\r\nOK\r\n\r\n+MIPOPEN: %d,1\r\n" % sid)

    def open_refused(self, c, port, sid=1):
        c.cmd('AT+MIPOPEN=%d,,"127.0.0.1",%d,0' % (sid, port), b"\r\nOK\r\n\r\n+MIPOPEN: %d,0\r\n" % sid)

    def send(self, c, data, sid=1):
        c.cmd("AT+MIPSEND=%d,%d" % (sid, len(data)), b"\r\n>")
        c.send(data)
        c.expect(b"\r\n+MIPPUSH: %d,0\r\n\r\n+MIPSEND: %d,0,2048\r\n\r\nOK\r\n" % (sid, sid))

    def pushed(self, data, sid=1):
        return b"\r\n+MIPRTCP: %d,%d,%s\r\n" % (sid, len(data), data)

    def closed(self, sid=1):
        return b"\r\n+MIPSTAT: %d,1\r\n" % sid

    def transparent(self, c, port, sid=1):
        c.cmd('AT+MIPODM=%d,,"127.0.0.1",%d,0' % (sid, port), b"\r\nOK\r\n\r\n+MIPODM: %d,1\r\n" % sid)


WORDS = {"nm28": NM28Words(), "l610": L610Words()}


def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
