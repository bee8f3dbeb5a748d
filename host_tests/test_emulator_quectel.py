"""The Quectel personality (tools/emulator/quectel.py) byte for byte: the AT+QI* TCP/IP set
and the AT+QSSL*/AT+QF* TLS set as docs/quectel.md reads them, against loopback peers."""
from __future__ import annotations

import queue
import socket
import threading
import time

import pytest

from host_tests.emu_helpers import free_port
from tools import loopback
from tools.emulator import Emulator

GUARD = 0.2  # the +++ guard time in these tests (1 s on a real module)
IP = b"10.166.80.147"


def online(chat, emu, cmee=None):
    """Echo off, context 1 configured and active."""
    c = chat(emu)
    c.cmd("ATE0")
    if cmee is not None:
        c.cmd("AT+CMEE=%d" % cmee)
    c.cmd('AT+QICSGP=1,1,"cmnet","","",0')
    c.cmd("AT+QIACT=1")
    return c


def qiopen(c, sid, port, access=0, kind="TCP", host="127.0.0.1", err=0):
    c.cmd(
        'AT+QIOPEN=1,%d,"%s","%s",%d,0,%d' % (sid, kind, host, port, access),
        b"\r\nOK\r\n\r\n+QIOPEN: %d,%d\r\n" % (sid, err),
    )


def qisend(c, sid, data, answer=b"\r\nSEND OK\r\n", cmd="AT+QISEND"):
    c.cmd("%s=%d,%d" % (cmd, sid, len(data)), b"\r\n> ")
    c.send(data)
    c.expect(answer, timeout=5)


def pushed(sid, data, tag=b"+QIURC"):
    return b'\r\n%s: "recv",%d,%d\r\n%s\r\n' % (tag, sid, len(data), data)


def escape(c):
    """+++ between two guard silences, then the module's OK."""
    c.silent(GUARD * 1.5)
    c.send(b"+++")
    c.silent(GUARD * 0.5)
    c.expect(b"\r\nOK\r\n", timeout=GUARD * 5)


def local_port(emu, sid):
    return emu.module.socks[sid].local_port()


class Peer:
    """A TCP server whose one client the test drives: conn() once it has connected."""

    def __init__(self):
        self.q: "queue.Queue[socket.socket]" = queue.Queue()
        self.done = threading.Event()
        self.srv = loopback.TcpServer(self._handle)
        self.port = self.srv.port

    def _handle(self, conn):
        self.q.put(conn)
        self.done.wait(10)

    def conn(self) -> socket.socket:
        return self.q.get(timeout=5)

    def close(self):
        self.done.set()
        self.srv.close()


@pytest.fixture
def peer():
    p = Peer()
    yield p
    p.close()


# ---------------------------------------------------------------- identification, bearer
def test_boot_and_identification(emulator, chat):
    emu = emulator("quectel", boot_delay=0.3)
    c = chat(emu, drain=False)
    c.expect(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n")
    c.echo = True
    c.cmd("ATE0")
    c.cmd("ATI", b"\r\nQuectel\r\n\r\nEC200U\r\n\r\nRevision: EC200UCNAAR03A15M08\r\n\r\nOK\r\n")
    c.cmd("AT+CGMM", b"\r\nEC200U\r\n\r\nOK\r\n")
    c.cmd("AT+CGMR", b"\r\nEC200UCNAAR03A15M08\r\n\r\nOK\r\n")
    c.cmd('AT+QICFG="dataformat",0,0')
    c.cmd('AT+QICFG="viewmode",0')
    c.cmd('AT+QICFG="dataformat"', b'\r\n+QICFG: "dataformat",0,0\r\n\r\nOK\r\n')
    c.cmd('AT+QICFG="nosuch",1', b"\r\nERROR\r\n")
    c.cmd("AT+QISDE=0")
    c.cmd("AT+QPOWD=1", b"\r\nOK\r\n\r\nPOWERED DOWN\r\n")


def test_bg96_variant(emulator, chat):
    emu = emulator("quectel", firmware="bg96", boot_delay=0.3)
    c = chat(emu, drain=False)
    c.expect(b"\r\nRDY\r\n\r\nAPP RDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n")
    c.echo = True
    c.cmd("ATE0")
    c.cmd("ATI", b"\r\nQuectel\r\n\r\nBG96\r\n\r\nRevision: BG96MAR02A07M1G\r\n\r\nOK\r\n")
    c.cmd('AT+QICSGP=16,1,"iot","u","p",3')  # 16 contexts, PAP or CHAP
    c.cmd("AT+QIACT=16")
    c.cmd("AT+QIACT?", b'\r\n+QIACT: 16,1,1,"10.166.80.162"\r\n\r\nOK\r\n')


def test_firmware_names(emulator):
    with pytest.raises(ValueError) as e:
        Emulator("quectel", firmware="g510")
    assert str(e.value) == "'g510' is a firmware of l610, not of quectel; valid for quectel: manual, bg96"


def test_bring_up_and_attach(emulator, chat):
    c = chat(emulator("quectel"))
    c.cmd("ATE0")
    c.cmd("AT+CMEE=1")
    c.cmd("AT+CPIN?", b"\r\n+CPIN: READY\r\n\r\nOK\r\n")
    c.cmd("AT+CEREG?", b"\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
    c.cmd('AT+QICSGP=1,1,"cmnet","user","pw",3', b"\r\n+CME ERROR: 552\r\n")  # EC200U: auth 0-2
    c.cmd('AT+QICSGP=8,1,"cmnet"', b"\r\n+CME ERROR: 552\r\n")  # EC200U: contexts 1-7
    c.cmd('AT+QICSGP=1,1,"cmnet","user","pw",2')
    c.cmd("AT+QICSGP=1", b'\r\n+QICSGP: 1,"cmnet","user","pw",2\r\n\r\nOK\r\n')
    c.cmd('AT+QICSGP=1,1,"cmnet","","",0')
    c.cmd("AT+QIACT?")  # none active: OK alone
    c.cmd("AT+QIACT=1")
    c.cmd("AT+QIACT?", b'\r\n+QIACT: 1,1,1,"%s"\r\n\r\nOK\r\n' % IP)
    c.cmd("AT+QIACT=1", b"\r\n+CME ERROR: 561\r\n")  # already active
    c.cmd("AT+QIDEACT=1")
    c.cmd("AT+QIACT?")
    c.cmd("AT+CMEE=2")
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 561,open PDP context failed\r\n\r\nOK\r\n")
    c.cmd('AT+QIOPEN=1,"TCP","127.0.0.1",80', b"\r\n+CME ERROR: invalid parameters\r\n")
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 552,invalid parameters\r\n\r\nOK\r\n")


def test_refused_activation_and_no_network(emulator, chat):
    emu = emulator("quectel")
    c = chat(emu)
    c.cmd("ATE0")
    emu.refuse_dial(1)
    c.cmd("AT+QIACT=1", b"\r\nERROR\r\n")
    emu.set_registration(2)
    c.cmd("AT+QIACT=1", b"\r\nERROR\r\n")
    emu.set_registration(None)
    c.cmd("AT+QIACT=1")


def test_pdp_deactivated_by_the_network(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 0, echo_server.port)
    emu.set_registration(0)  # out of coverage: the bearer goes
    c.expect(b'\r\n+QIURC: "pdpdeact",1\r\n')
    lport = local_port(emu, 0)
    c.cmd(
        "AT+QISTATE?",
        b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,0,"uart1"\r\n\r\nOK\r\n' % (echo_server.port, lport),
    )
    c.cmd("AT+QISEND=0,3", b"\r\nERROR\r\n")
    c.cmd("AT+QIACT?")
    emu.set_registration(None)
    c.cmd("AT+QIDEACT=1")  # the AN's way out: every socket of the context is freed
    c.cmd("AT+QISTATE?")
    c.cmd("AT+QIACT=1")
    qiopen(c, 0, echo_server.port)


def test_cfun_drops_the_context(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 0, echo_server.port)
    c.cmd("AT+CFUN=4", b'\r\nOK\r\n\r\n+QIURC: "pdpdeact",1\r\n')
    c.cmd("AT+CFUN=1")
    c.cmd("AT+QIACT?")


# ---------------------------------------------------------------- DNS
def test_dns(emulator, chat):
    emu = emulator("quectel")
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd('AT+QIDNSGIP=1,"localhost"', b"\r\nERROR\r\n")  # the context is not active
    c.cmd("AT+QIACT=1")
    c.cmd('AT+QIDNSGIP=1,"localhost"')
    c.expect(b'\r\n+QIURC: "dnsgip",0,1,600\r\n\r\n+QIURC: "dnsgip","127.0.0.1"\r\n')
    c.cmd('AT+QIDNSGIP=1,"172.188.83.251"')
    c.expect(b'\r\n+QIURC: "dnsgip",0,1,0\r\n\r\n+QIURC: "dnsgip","172.188.83.251"\r\n')
    c.cmd('AT+QIDNSGIP=1,"nosuch.invalid"')
    c.expect(b'\r\n+QIURC: "dnsgip",565\r\n')
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 565,DNS parse failed\r\n\r\nOK\r\n")
    c.cmd("AT+QIDNSCFG=1", b'\r\n+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"\r\n\r\nOK\r\n')


# ---------------------------------------------------------------- TCP
def test_tcp_buffer_mode_echo_with_qird(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 0, echo_server.port, access=0)
    qisend(c, 0, b"hello")
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    c.cmd("AT+QIRD=0,1500", b"\r\n+QIRD: 5\r\nhello\r\n\r\nOK\r\n")
    c.cmd("AT+QIRD=0,1500", b"\r\n+QIRD: 0\r\n\r\nOK\r\n")
    c.cmd("AT+QIRD=0,0", b"\r\n+QIRD: 5,5,0\r\n\r\nOK\r\n")
    c.cmd("AT+QISEND=0,0", b"\r\n+QISEND: 5,5,0\r\n\r\nOK\r\n")
    # One URC until the buffer is read empty: more data meanwhile is not announced again.
    qisend(c, 0, b"0123456789")
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    c.cmd("AT+QIRD=0,4", b"\r\n+QIRD: 4\r\n0123\r\n\r\nOK\r\n")
    qisend(c, 0, b"abc")
    c.silent(0.2)
    c.cmd("AT+QIRD=0,0", b"\r\n+QIRD: 18,9,9\r\n\r\nOK\r\n")
    c.cmd("AT+QIRD=0", b"\r\n+QIRD: 9\r\n456789abc\r\n\r\nOK\r\n")
    qisend(c, 0, b"again")
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    c.cmd("AT+QIRD=0,1500", b"\r\n+QIRD: 5\r\nagain\r\n\r\nOK\r\n")
    c.cmd("AT+QICLOSE=0")


def test_tcp_push_mode_and_switching(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 0, echo_server.port, access=1)
    qisend(c, 0, b"pushed")
    c.expect(pushed(0, b"pushed"))
    c.cmd("AT+QIRD=0,1500", b"\r\nERROR\r\n")  # nothing to read in push mode
    c.cmd("AT+QISWTMD=0,0")
    qisend(c, 0, b"held")
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    c.cmd("AT+QISWTMD=0,1", b"\r\nOK\r\n" + pushed(0, b"held"))  # what was held goes first
    c.cmd('AT+QICFG="viewmode",1')
    qisend(c, 0, b"one line")
    c.expect(b'\r\n+QIURC: "recv",0,8,one line\r\n')
    c.cmd('AT+QICFG="viewmode",0')
    big = bytes(range(256)) * 12  # 3072 bytes: at most 1500 per URC
    c.cmd("AT+QISWTMD=0,0")
    qisend(c, 0, big[:1024])
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    for i in range(1024, len(big), 1024):
        qisend(c, 0, big[i : i + 1024])
    time.sleep(0.3)
    c.cmd("AT+QISWTMD=0,1", b"\r\nOK\r\n" + pushed(0, big[:1500]) + pushed(0, big[1500:3000]) + pushed(0, big[3000:]))


def test_qistate(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 3, echo_server.port, access=1)
    line = b'+QISTATE: 3,"TCP","127.0.0.1",%d,%d,2,1,0,1,"uart1"' % (echo_server.port, local_port(emu, 3))
    c.cmd("AT+QISTATE?", b"\r\n" + line + b"\r\n\r\nOK\r\n")
    c.cmd("AT+QISTATE=1,3", b"\r\n" + line + b"\r\n\r\nOK\r\n")
    c.cmd("AT+QISTATE=0,1", b"\r\n" + line + b"\r\n\r\nOK\r\n")
    c.cmd("AT+QISTATE=1,4")  # no such socket: OK alone
    c.cmd('AT+QIOPEN=1,3,"TCP","127.0.0.1",%d,0,0' % echo_server.port, b"\r\nOK\r\n\r\n+QIOPEN: 3,563\r\n")
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 563,socket identity has been used\r\n\r\nOK\r\n")


def test_connect_refused(emulator, chat):
    c = online(chat, emulator("quectel"))
    qiopen(c, 0, free_port(), err=566)
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 566,socket connect failed\r\n\r\nOK\r\n")
    c.cmd("AT+QISTATE?")  # the id is free again
    c.cmd('AT+QIOPEN=1,0,"TCP","nosuch.invalid",80,0,1', b"\r\nOK\r\n\r\n+QIOPEN: 0,565\r\n")


def test_close_after_peer_close(emulator, chat):
    def bye(conn):
        conn.sendall(b"bye")
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)

    emu = emulator("quectel")
    c = online(chat, emu, cmee=1)
    with loopback.TcpServer(bye) as srv:
        qiopen(c, 0, srv.port, access=0)
        c.expect(b'\r\n+QIURC: "recv",0\r\n\r\n+QIURC: "closed",0\r\n')
        c.cmd(
            "AT+QISTATE=1,0",
            b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,0,"uart1"\r\n\r\nOK\r\n' % (srv.port, local_port(emu, 0)),
        )
        c.cmd("AT+QIRD=0,100", b"\r\n+QIRD: 3\r\nbye\r\n\r\nOK\r\n")  # still readable
        c.cmd("AT+QISEND=0,3", b"\r\n+CME ERROR: 567\r\n")
        c.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,0' % srv.port, b"\r\nOK\r\n\r\n+QIOPEN: 0,563\r\n")
        c.cmd("AT+QICLOSE=0")  # the id is free only now
        c.cmd("AT+QISTATE?")
        c.cmd("AT+QICLOSE=0")  # closed already: OK
        qiopen(c, 0, srv.port, access=1)
        c.expect(pushed(0, b"bye") + b'\r\n+QIURC: "closed",0\r\n')
        c.cmd("AT+QICLOSE=0,10")


def test_send_fail_when_the_send_buffer_is_full(emulator, chat):
    emu = emulator("quectel", send_wait=0.2)
    c = online(chat, emu)
    with loopback.SinkServer() as srv:
        qiopen(c, 0, srv.port)
        emu.hold_flow(0)  # the network takes nothing
        for _ in range(7):  # 10220 of the 10240-byte buffer
            qisend(c, 0, b"q" * 1460)
        c.cmd("AT+QISEND=0,0", b"\r\n+QISEND: 10220,0,10220\r\n\r\nOK\r\n")
        qisend(c, 0, b"r" * 1460)  # room was left: taken
        qisend(c, 0, b"0123456789", b"\r\nSEND FAIL\r\n")
        emu.hold_flow(0, False)
        assert srv.wait(11680, 5)
        c.cmd("AT+QISEND=0,0", b"\r\n+QISEND: 11680,11680,0\r\n\r\nOK\r\n")
        qisend(c, 0, b"0123456789")
        assert srv.wait(11690, 5)


def test_send_errors(emulator, chat, echo_server):
    c = online(chat, emulator("quectel"))
    c.cmd("AT+QISEND=0,5", b"\r\nERROR\r\n")  # no connection
    qiopen(c, 0, echo_server.port, access=1)
    c.cmd("AT+QISEND=0,1461", b"\r\nERROR\r\n")
    c.cmd("AT+QISEND=0", b"\r\nERROR\r\n")  # the Ctrl-Z form is not emulated


def test_buffer_mode_back_pressure_loses_nothing(emulator, chat):
    """A fast peer and a slow host: the module holds at most its buffer, the TCP window
    closes, and every byte arrives through AT+QIRD in order; "closed" only after the last."""
    from tools.emulator.sock import RX_CAP

    emu = emulator("quectel")
    c = online(chat, emu)
    with loopback.speaker(300_000) as srv:
        qiopen(c, 0, srv.port, access=0)
        time.sleep(0.3)
        assert emu.module.socks[0].rx_len() <= RX_CAP + 1460
        got, seen = bytearray(), b""
        while True:
            c.send(b"AT+QIRD=0,1500\r")
            seen += c.until(b"+QIRD: ")
            n = int(c.until(b"\r\n")[:-2])
            if n:
                got += c.read_exactly(n)
            c.expect(b"\r\n\r\nOK\r\n" if n else b"\r\nOK\r\n")
            if not n and b'"closed"' in seen + bytes(c.buf):
                break
            if not n:
                time.sleep(0.01)
        assert bytes(got) == srv.data
        assert seen.count(b'"closed",0') + bytes(c.buf).count(b'"closed",0') == 1


def test_payload_echo_follows_qisde(emulator, chat, echo_server):
    c = online(chat, emulator("quectel"))
    qiopen(c, 0, echo_server.port, access=1)
    c.cmd("ATE1")
    c.cmd("AT+QISEND=0,4", b"\r\n> ")
    c.send(b"echo")
    c.expect(b"echo\r\nSEND OK\r\n" + pushed(0, b"echo"))
    c.cmd("AT+QISDE=0")
    c.cmd("AT+QISEND=0,5", b"\r\n> ")
    c.send(b"quiet")
    c.expect(b"\r\nSEND OK\r\n" + pushed(0, b"quiet"))


# ---------------------------------------------------------------- UDP
def test_udp_client(emulator, chat, udp_echo):
    c = online(chat, emulator("quectel"))
    qiopen(c, 0, udp_echo.port, access=1, kind="UDP")
    qisend(c, 0, b"datagram")
    c.expect(pushed(0, b"datagram"))
    c.cmd("AT+QISWTMD=0,0")
    qisend(c, 0, b"one")
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    qisend(c, 0, b"two")
    time.sleep(0.1)
    c.cmd("AT+QIRD=0,1500", b"\r\n+QIRD: 3\r\none\r\n\r\nOK\r\n")  # one datagram a read
    c.cmd("AT+QIRD=0,1500", b"\r\n+QIRD: 3\r\ntwo\r\n\r\nOK\r\n")


def test_udp_service(emulator, chat):
    c = online(chat, emulator("quectel"))
    port = free_port()
    c.cmd('AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,%d,1' % port, b"\r\nOK\r\n\r\n+QIOPEN: 2,0\r\n")
    c.cmd("AT+QISTATE=1,2", b'\r\n+QISTATE: 2,"UDP SERVICE","%s",0,%d,2,1,2,1,"uart1"\r\n\r\nOK\r\n' % (IP, port))
    p = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    p.bind(("127.0.0.1", 0))
    p.settimeout(5)
    pport = p.getsockname()[1]
    try:
        p.sendto(b"ping", ("127.0.0.1", port))
        c.expect(b'\r\n+QIURC: "recv",2,4,"127.0.0.1",%d\r\nping\r\n' % pport)
        c.cmd('AT+QISEND=2,4,"127.0.0.1",%d' % pport, b"\r\n> ")
        c.send(b"pong")
        c.expect(b"\r\nSEND OK\r\n")
        assert p.recvfrom(10) == (b"pong", ("127.0.0.1", port))
        c.cmd("AT+QISEND=2,4", b"\r\nERROR\r\n")  # a service names the peer
        c.cmd("AT+QISWTMD=2,0")
        p.sendto(b"buffered", ("127.0.0.1", port))
        c.expect(b'\r\n+QIURC: "recv",2\r\n')
        c.cmd("AT+QIRD=2,1500", b"\r\nERROR\r\n")  # a service reads whole datagrams: no length
        c.cmd("AT+QIRD=2", b'\r\n+QIRD: 8,"127.0.0.1",%d\r\nbuffered\r\n\r\nOK\r\n' % pport)
        c.cmd("AT+QIRD=2", b"\r\n+QIRD: 0\r\n\r\nOK\r\n")
    finally:
        p.close()


# ---------------------------------------------------------------- listener
def test_listener_and_incoming(emulator, chat):
    emu = emulator("quectel")
    c = online(chat, emu)
    port = free_port()
    c.cmd('AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,%d,1' % port, b"\r\nOK\r\n\r\n+QIOPEN: 1,0\r\n")
    client = socket.create_connection(("127.0.0.1", port))
    client.settimeout(5)
    cport = client.getsockname()[1]
    try:
        # the module picks the id: the highest free, as in the AN's example
        c.expect(b'\r\n+QIURC: "incoming",11,1,"127.0.0.1",%d\r\n' % cport)
        client.sendall(b"hi module")
        c.expect(pushed(11, b"hi module"))  # the listener's access mode
        qisend(c, 11, b"hi peer")
        assert client.recv(10) == b"hi peer"
        c.cmd(
            "AT+QISTATE?",
            b'\r\n+QISTATE: 1,"TCP LISTENER","%s",0,%d,3,1,1,1,"uart1"\r\n'
            b'\r\n+QISTATE: 11,"TCP INCOMING","127.0.0.1",%d,%d,2,1,1,1,"uart1"\r\n\r\nOK\r\n'
            % (IP, port, cport, port),
        )
        client.close()
        c.expect(b'\r\n+QIURC: "closed",11\r\n')
        c.cmd("AT+QICLOSE=11")
    finally:
        client.close()


def test_incoming_full(emulator, chat):
    emu = emulator("quectel")
    c = online(chat, emu)
    port = free_port()
    c.cmd('AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,%d,0' % port, b"\r\nOK\r\n\r\n+QIOPEN: 0,0\r\n")
    clients = []
    try:
        for sid in range(11, 0, -1):
            clients.append(socket.create_connection(("127.0.0.1", port)))
            c.expect(b'\r\n+QIURC: "incoming",%d,0,"127.0.0.1",%d\r\n' % (sid, clients[-1].getsockname()[1]))
        last = socket.create_connection(("127.0.0.1", port))
        clients.append(last)
        c.expect(b'\r\n+QIURC: "incoming full"\r\n')
        last.settimeout(5)
        assert last.recv(10) == b""  # refused
    finally:
        for s in clients:
            s.close()


# ---------------------------------------------------------------- transparent
def test_transparent(emulator, chat, peer):
    emu = emulator("quectel", guard_time=GUARD)
    c = online(chat, emu)
    c.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % peer.port, b"\r\nCONNECT\r\n")
    conn = peer.conn()
    c.send(b"to the peer")
    assert conn.recv(20) == b"to the peer"
    conn.sendall(b"to the host")
    c.expect(b"to the host")
    escape(c)
    conn.sendall(b"while away")  # command mode: the socket is in buffer mode now
    c.expect(b'\r\n+QIURC: "recv",0\r\n')
    c.cmd("AT+QIRD=0,5", b"\r\n+QIRD: 5\r\nwhile\r\n\r\nOK\r\n")
    c.cmd("ATO", b"\r\nCONNECT\r\n away")  # the rest, then the line is the socket's again
    c.send(b"+++ is data without the guard")
    assert conn.recv(100) == b"+++ is data without the guard"
    escape(c)
    c.cmd("AT+QISWTMD=0,2", b"\r\nCONNECT\r\n")
    conn.sendall(b"last words")
    conn.close()
    c.expect(b'last words\r\nNO CARRIER\r\n\r\n+QIURC: "closed",0\r\n')
    c.cmd("ATO", b"\r\nNO CARRIER\r\n")
    c.cmd("AT+QISTATE=1,0", b'\r\n+QISTATE: 0,"TCP","127.0.0.1",%d,%d,4,1,0,2,"uart1"\r\n\r\nOK\r\n' % (peer.port, local_port(emu, 0)))
    c.cmd("AT+QICLOSE=0")


def test_transparent_open_fails(emulator, chat):
    c = online(chat, emulator("quectel"), cmee=2)
    c.cmd('AT+QIOPEN=1,0,"TCP","127.0.0.1",%d,0,2' % free_port(), b"\r\nERROR\r\n")
    c.cmd("AT+QIGETERROR", b"\r\n+QIGETERROR: 566,socket connect failed\r\n\r\nOK\r\n")
    c.cmd("ATO", b"\r\nNO CARRIER\r\n")


# ---------------------------------------------------------------- faults
def test_fault_hooks(emulator, chat, echo_server):
    emu = emulator("quectel")
    c = online(chat, emu)
    qiopen(c, 0, echo_server.port, access=1)
    emu.drop_socket(0)
    c.expect(b'\r\n+QIURC: "closed",0\r\n')
    emu.fail_command("AT+QIOPEN", "silent", count=1)
    c.send(b'AT+QIOPEN=1,1,"TCP","127.0.0.1",%d,0,1\r' % echo_server.port)
    c.silent(0.2)
    qiopen(c, 1, echo_server.port, access=1)
    emu.fail_command("AT+QISEND", "error", count=1)
    c.cmd("AT+QISEND=1,3", b"\r\nERROR\r\n")
    emu.chunk_output(3)
    qisend(c, 1, b"chunks")
    c.expect(pushed(1, b"chunks"))
    emu.clear_faults()
    # A reboot in the middle of a payload: the rest of the bytes are a command line again.
    c.cmd("AT+QISEND=1,10", b"\r\n> ")
    c.send(b"12345")
    time.sleep(0.1)
    emu.reboot()
    c.expect(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n")
    c.echo = True
    c.cmd("ATE0")
    c.cmd("AT+QIACT?")  # no context
    c.cmd("AT+QISTATE?")  # no sockets


# ---------------------------------------------------------------- TLS: files
def qfupl(c, name, data):
    c.cmd('AT+QFUPL="%s",%d,100' % (name, len(data)), b"\r\nCONNECT\r\n")
    c.send(data)
    c.expect(b"\r\n+QFUPL: %d,%x\r\n\r\nOK\r\n" % (len(data), xor16(data)))


def xor16(data: bytes) -> int:
    padded = data + b"\0" * (len(data) % 2)
    out = 0
    for i in range(0, len(padded), 2):
        out ^= int.from_bytes(padded[i : i + 2], "big")
    return out


def read(certs, name):
    with open("%s/%s" % (certs.dir, name), "rb") as f:
        return f.read()


def test_file_store(emulator, chat):
    emu = emulator("quectel")
    c = chat(emu)
    c.cmd("ATE0")
    c.cmd("AT+CMEE=1")
    c.cmd('AT+QFUPL="UFS:a.txt",5,100', b"\r\nCONNECT\r\n")
    c.send(b"\x00\x01\xff\r\n")  # raw bytes, a CR among them
    c.expect(b"\r\n+QFUPL: 5,f50c\r\n\r\nOK\r\n")
    qfupl(c, "b.pem", b"0123456789abc")
    c.cmd('AT+QFUPL="a.txt",3,100', b"\r\n+CME ERROR: 407\r\n")  # it exists
    c.cmd('AT+QFLST="*"', b'\r\n+QFLST: "UFS:a.txt",5\r\n\r\n+QFLST: "UFS:b.pem",13\r\n\r\nOK\r\n')
    c.cmd('AT+QFLST="UFS:b.pem"', b'\r\n+QFLST: "UFS:b.pem",13\r\n\r\nOK\r\n')
    c.cmd('AT+QFLST="nosuch"', b"\r\n+CME ERROR: 405\r\n")
    emu.reboot()  # flash: the files stay
    c.expect(b"\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n")
    c.echo = True
    c.cmd("ATE0")
    c.cmd("AT+QFLST", b'\r\n+QFLST: "UFS:a.txt",5\r\n\r\n+QFLST: "UFS:b.pem",13\r\n\r\nOK\r\n')
    c.cmd('AT+QFDEL="a.txt"')
    c.cmd('AT+QFDEL="a.txt"', b"\r\nERROR\r\n")
    c.cmd('AT+QFDEL="*"')
    c.cmd("AT+QFLST")


def test_sslcfg(emulator, chat):
    c = chat(emulator("quectel"))
    c.cmd("ATE0")
    for name, value in [("sslversion", "4"), ("ciphersuite", "0XFFFF"), ("seclevel", "0"), ("cacert", '""'),
                        ("clientcert", '""'), ("clientkey", '""'), ("ignorelocaltime", "1"),
                        ("negotiatetime", "300"), ("sni", "0")]:
        c.cmd('AT+QSSLCFG="%s",1' % name, b'\r\n+QSSLCFG: "%s",1,%s\r\n\r\nOK\r\n' % (name.encode(), value.encode()))
    c.cmd('AT+QSSLCFG="ciphersuite",1,0x0035')
    c.cmd('AT+QSSLCFG="ciphersuite",1', b'\r\n+QSSLCFG: "ciphersuite",1,0X0035\r\n\r\nOK\r\n')
    c.cmd('AT+QSSLCFG="cacert",1,"ca.pem"')
    c.cmd('AT+QSSLCFG="cacert",1', b'\r\n+QSSLCFG: "cacert",1,"ca.pem"\r\n\r\nOK\r\n')
    c.cmd('AT+QSSLCFG="negotiatetime",1,5', b"\r\nERROR\r\n")
    c.cmd('AT+QSSLCFG="SECLEVEL",1,1', b"\r\nERROR\r\n")  # keys are lower case
    c.cmd('AT+QSSLCFG="seclevel",6,1', b"\r\nERROR\r\n")


# ---------------------------------------------------------------- TLS: sessions
def tls_online(chat, emu, certs, **cfg):
    c = online(chat, emu)
    qfupl(c, "ca.pem", read(certs, "ca.crt"))
    for name, value in cfg.items():
        c.cmd('AT+QSSLCFG="%s",1,%s' % (name, value))
    return c


def test_tls_verified_buffer_mode(emulator, chat, certs):
    emu = emulator("quectel")
    c = tls_online(chat, emu, certs, sslversion=4, ciphersuite="0xFFFF", seclevel=1, cacert='"ca.pem"')
    with loopback.echo_server(certs.server_context()) as srv:
        c.cmd('AT+QSSLOPEN=1,1,4,"localhost",%d,0' % srv.port, b"\r\nOK\r\n\r\n+QSSLOPEN: 4,0\r\n", 10)
        qisend(c, 4, b"over TLS", cmd="AT+QSSLSEND")
        c.expect(b'\r\n+QSSLURC: "recv",4\r\n')
        c.cmd("AT+QSSLRECV=4,1500", b"\r\n+QSSLRECV: 8\r\nover TLS\r\n\r\nOK\r\n")
        c.cmd("AT+QSSLRECV=4,1500", b"\r\n+QSSLRECV: 0\r\n\r\nOK\r\n")
        c.cmd("AT+QSSLRECV=4,0", b"\r\n+QSSLRECV: 8,8,0\r\n\r\nOK\r\n")
        c.cmd(
            "AT+QSSLSTATE",
            b'\r\n+QSSLSTATE: 4,"SSLClient","127.0.0.1",%d,0,2,1,4,0,"uart1",1\r\n\r\nOK\r\n' % srv.port,
        )
        c.cmd("AT+QISTATE?")  # the TCP/IP list does not show it
        c.cmd("AT+QIRD=4,10", b"\r\nERROR\r\n")  # nor read it
        c.cmd("AT+QSSLCLOSE=4")
        c.cmd("AT+QSSLSTATE")


@pytest.mark.parametrize(
    "server,cfg,result",
    [
        ("foreign", dict(seclevel=1, cacert='"ca.pem"'), 566),  # another CA signed it
        ("foreign", dict(seclevel=0), 0),  # no verification
        ("wrong_name", dict(seclevel=1, cacert='"ca.pem"'), 566),
        ("good", dict(seclevel=1, cacert='"missing.pem"'), 566),
        ("expired", dict(seclevel=1, cacert='"ca.pem"'), 0),  # ignorelocaltime is 1 by default
        ("expired", dict(seclevel=1, cacert='"ca.pem"', ignorelocaltime=0), 566),
        ("good", dict(seclevel=1, cacert='"ca.pem"', sslversion=3, ciphersuite="0X003D"), 0),
    ],
)
def test_tls_verification(emulator, chat, certs, server, cfg, result):
    c = tls_online(chat, emulator("quectel"), certs, **cfg)
    with loopback.echo_server(certs.server_context(server)) as srv:
        c.cmd('AT+QSSLOPEN=1,1,0,"localhost",%d,1' % srv.port, b"\r\nOK\r\n\r\n+QSSLOPEN: 0,%d\r\n" % result, 10)
        if result == 0:
            qisend(c, 0, b"ok", cmd="AT+QSSLSEND")
            c.expect(pushed(0, b"ok", b"+QSSLURC"))
        else:
            c.cmd("AT+QSSLSTATE")  # the id is free


def test_tls_wrong_ca_uploaded(emulator, chat, certs):
    c = online(chat, emulator("quectel"))
    qfupl(c, "other.pem", read(certs, "other_ca.crt"))
    c.cmd('AT+QSSLCFG="seclevel",2,1')
    c.cmd('AT+QSSLCFG="cacert",2,"UFS:other.pem"')
    with loopback.echo_server(certs.server_context()) as srv:
        c.cmd('AT+QSSLOPEN=1,2,1,"localhost",%d,0' % srv.port, b"\r\nOK\r\n\r\n+QSSLOPEN: 1,566\r\n", 10)


def test_mutual_tls_push(emulator, chat, certs):
    c = tls_online(chat, emulator("quectel"), certs, seclevel=2, cacert='"ca.pem"',
                   clientcert='"client.pem"', clientkey='"client.key"')
    qfupl(c, "client.pem", read(certs, "client.crt"))
    qfupl(c, "client.key", read(certs, "client.key"))
    with loopback.echo_server(certs.server_context("good", require_client=True)) as srv:
        c.cmd('AT+QSSLOPEN=1,1,2,"localhost",%d,1' % srv.port, b"\r\nOK\r\n\r\n+QSSLOPEN: 2,0\r\n", 10)
        qisend(c, 2, b"mutual", cmd="AT+QSSLSEND")
        c.expect(pushed(2, b"mutual", b"+QSSLURC"))
        c.cmd("AT+QSSLCLOSE=2,1")


def test_tls_transparent_and_peer_close(emulator, chat, certs):
    emu = emulator("quectel", guard_time=GUARD)
    c = tls_online(chat, emu, certs, seclevel=1, cacert='"ca.pem"')
    with loopback.echo_server(certs.server_context()) as srv:
        c.cmd('AT+QSSLOPEN=1,1,0,"localhost",%d,2' % srv.port, b"\r\nCONNECT\r\n", 10)
        c.send(b"raw over TLS")
        c.expect(b"raw over TLS")
        escape(c)
        c.cmd("ATO", b"\r\nCONNECT\r\n")
        c.send(b"again")
        c.expect(b"again")
        escape(c)
        c.cmd("AT+QSSLCLOSE=0")
    peer_closes = loopback.TcpServer(lambda conn: (conn.sendall(b"bye"), conn.recv(1)), certs.server_context())
    with peer_closes as srv:
        c.cmd('AT+QSSLOPEN=1,1,0,"localhost",%d,0' % srv.port, b"\r\nOK\r\n\r\n+QSSLOPEN: 0,0\r\n", 10)
        c.expect(b'\r\n+QSSLURC: "recv",0\r\n')
        qisend(c, 0, b"x", cmd="AT+QSSLSEND")
        c.expect(b'\r\n+QSSLURC: "closed",0\r\n')
        c.cmd("AT+QSSLRECV=0,10", b"\r\n+QSSLRECV: 3\r\nbye\r\n\r\nOK\r\n")
        c.cmd("AT+QSSLCLOSE=0")
