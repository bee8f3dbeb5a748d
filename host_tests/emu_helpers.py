"""Per-dialect words for emulator tests that run the same scenario on both modules."""
from __future__ import annotations


class NM28Words:
    name = "nm28"
    model = b"NM28"
    first_id = 1
    # a first TLS open without verification, as the module is sent it, and one of its settings
    tls_open, tls_setting = b'AT+IPOPEN=0,"TCP","localhost",%d,0,1\r', b'AT+SSLCFG'
    # the start of its send, close and dial (bearer up) commands
    send_cmd, close_cmd, dial_cmd = 'AT+IPSEND=', 'AT+IPCLOSE=', 'AT+CGACT=1,1'

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

    refused = "AT+IPCLOSE=5"  # a command the module refuses (an id not open)
    refused_codes = (b"3", b"operation not allowed")  # its +CME ERROR, numeric and verbose

    def after_reboot(self, c):
        c.expect(b"\r\nRDY\r\n")
        c.echo = True
        c.cmd("AT")  # echo is back on
        c.cmd("AT+IPSTATE=1,1", b"\r\n+IPSTATE: 0,TCP,,0,0,0,0\r\n\r\nOK\r\n")
        # Registered again at once here: a new default bearer (SPEC.md, NM28 data bearer).
        c.cmd("AT+CGPADDR=1", b'\r\n+CGPADDR: 1,"10.166.80.147"\r\n\r\nOK\r\n')

    def close(self, c, sid=1):
        c.cmd("AT+IPCLOSE=%d" % sid, b"\r\n+IPCLOSE: %d\r\n\r\nOK\r\n" % sid)

    def back_to_data(self, c, data, sid=1):
        """After +++, data came for the link: the module announces it; back into data mode."""
        c.expect(b"\r\nIPREAD: %d\r\n" % sid)
        c.cmd("AT+IPSWTMD=%d,2" % sid, b"\r\nCONNECT\r\n" + data)


class L610Words:
    name = "l610"
    model = b"L610"
    first_id = 1
    # a first TLS open without verification, as the module is sent it, and one of its settings
    tls_open, tls_setting = b'AT+MIPOPEN=1,,"localhost",%d,2\r', b'AT+GTSSLMODE=0'
    # the start of its send, close and dial (bearer up) commands
    send_cmd, close_cmd, dial_cmd = 'AT+MIPSEND=', 'AT+MIPCLOSE=', 'AT+MIPCALL=1'

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

    refused = "AT+MIPCLOSE=5"
    refused_codes = (b"3", b"operation not allowed")

    def after_reboot(self, c):
        c.expect(b"\r\nAT command ready\r\n\r\n+SIM READY\r\n")
        c.echo = True
        c.cmd("AT")
        c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 1,2,3,4,5,6\r\n\r\nOK\r\n")
        c.cmd("AT+MIPCALL?", b"\r\n+MIPCALL: 0\r\n\r\nOK\r\n")
        c.cmd('AT+GTSET="IPRFMT"', b'\r\n+GTSET: "IPRFMT",2\r\n\r\nOK\r\n')  # kept [seed]

    def close(self, c, sid=1):
        c.cmd("AT+MIPCLOSE=%d" % sid, b"\r\nOK\r\n\r\n+MIPCLOSE: %d,0\r\n" % sid)

    def back_to_data(self, c, data, sid=1):
        c.silent(0.2)  # held, unannounced, until ATO
        c.cmd("ATO", b"\r\nCONNECT\r\n" + data)


class QuectelWords:
    name = "quectel"
    model = b"EC200U"
    first_id = 1
    # a first TLS open without verification, as the module is sent it, and one of its settings
    tls_open, tls_setting = b'AT+QSSLOPEN=1,0,0,"localhost",%d,0\r', b'AT+QSSLCFG="seclevel",0,0'
    # the start of its send, close and dial (bearer up) commands
    send_cmd, close_cmd, dial_cmd = 'AT+QISEND=', 'AT+QICLOSE=', 'AT+QIACT=1'

    def online(self, c):
        c.cmd("ATE0")
        c.cmd('AT+QICSGP=1,1,"cmnet","","",0')
        c.cmd("AT+QIACT=1")

    def open_tcp(self, c, port, sid=1, host="127.0.0.1"):
        c.cmd('AT+QIOPEN=1,%d,"TCP","%s",%d,0,1' % (sid, host, port), b"\r\nOK\r\n\r\n+QIOPEN: %d,0\r\n" % sid)

    def open_refused(self, c, port, sid=1):
        c.cmd('AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,1' % (sid, port), b"\r\nOK\r\n\r\n+QIOPEN: %d,566\r\n" % sid)

    def send(self, c, data, sid=1):
        c.cmd("AT+QISEND=%d,%d" % (sid, len(data)), b"\r\n> ")
        c.send(data)
        c.expect(b"\r\nSEND OK\r\n")

    def pushed(self, data, sid=1):
        return b'\r\n+QIURC: "recv",%d,%d\r\n%s\r\n' % (sid, len(data), data)

    def closed(self, sid=1):
        return b'\r\n+QIURC: "closed",%d\r\n' % sid

    def transparent(self, c, port, sid=1):
        c.cmd('AT+QIOPEN=1,%d,"TCP","127.0.0.1",%d,0,2' % (sid, port), b"\r\nCONNECT\r\n")

    refused = "AT+QISEND=5,10"
    refused_codes = (b"552", b"invalid parameters")

    def after_reboot(self, c):
        c.expect(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n")
        c.echo = True
        c.cmd("AT")
        c.cmd("AT+QISTATE?")  # no sockets
        c.cmd("AT+QIACT?")  # no active context

    def close(self, c, sid=1):
        c.cmd("AT+QICLOSE=%d" % sid)

    def back_to_data(self, c, data, sid=1):
        """+++ leaves the socket in buffer mode: new data is announced [docs/quectel.md]."""
        c.expect(b'\r\n+QIURC: "recv",%d\r\n' % sid)
        c.cmd("AT+QISWTMD=%d,2" % sid, b"\r\nCONNECT\r\n" + data)


WORDS = {"nm28": NM28Words(), "l610": L610Words(), "quectel": QuectelWords()}


def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(condition, what: str = "condition", timeout: float = 10.0) -> None:
    """Until condition() holds: for the emulator's side of a test (what the module has put
    on the line), never the driver's, whose clock the tests fake."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)
