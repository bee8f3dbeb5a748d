"""Emulator features beyond the manuals' transcripts: TLS options, server sockets, pacing,
the TCP-exposed line and the command line."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from host_tests.emu_helpers import NM28Words, free_port
from tools import loopback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tls_open(c, port, sid=1, **cfg):
    for name, value in cfg.items():
        c.cmd('AT+SSLCFG="%s",%d,"%s"' % (name, sid, value))
    c.send(b'AT+IPOPEN=%d,"TCP","localhost",%d,0,1\r' % (sid, port))
    c.expect(b"\r\nOK\r\n")
    line = c.until(b"\r\n", timeout=10)
    line += c.until(b"\r\n", timeout=10)
    return line


@pytest.mark.parametrize(
    "server,cfg,result",
    [
        ("good", dict(seclevel=1, cacert="ca.crt"), 0),
        ("foreign", dict(seclevel=1, cacert="ca.crt"), 5),
        ("foreign", dict(seclevel=0), 0),
        ("expired", dict(seclevel=1, cacert="ca.crt"), 5),
        ("expired", dict(seclevel=1, cacert="ca.crt", ignorelocaltime=1), 0),
        ("wrong_name", dict(seclevel=1, cacert="ca.crt"), 5),
        ("good", dict(seclevel=1, cacert="missing.crt"), 5),
        ("good", dict(seclevel=1, cacert="ca.crt", sslversion=3, ciphersuite="0X003D"), 0),
    ],
)
def test_sslcfg_is_honoured(emulator, chat, certs, server, cfg, result):
    emu = emulator("nm28", cert_dir=certs.dir)
    c = chat(emu)
    NM28Words().online(c)
    with loopback.echo_server(certs.server_context(server)) as srv:
        assert tls_open(c, srv.port, **cfg) == b"\r\n+SSLOPEN: 1,%d\r\n" % result
        if result == 0:
            c.cmd('AT+IPSENDEX=1,"414243"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
            c.expect(b'\r\n+SSLURC: "recv",1,3\r\nABC\r\n')


def test_mutual_tls(emulator, chat, certs):
    emu = emulator("nm28", cert_dir=certs.dir)
    c = chat(emu)
    NM28Words().online(c)
    with loopback.echo_server(certs.server_context("good", require_client=True)) as srv:
        got = tls_open(c, srv.port, seclevel=2, cacert="ca.crt", clientcert="client.crt", clientkey="client.key")
        assert got == b"\r\n+SSLOPEN: 1,0\r\n"
        c.cmd('AT+IPSENDEX=1,"6d74"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
        c.expect(b'\r\n+SSLURC: "recv",1,2\r\nmt\r\n')


def test_sslcfg_query_and_bad_values(emulator, chat):
    c = chat(emulator("nm28"))
    c.cmd("ATE0")
    c.cmd('AT+SSLCFG="seclevel",2,1')
    c.cmd('AT+SSLCFG="seclevel",2', b'\r\n+SSLCFG: "seclevel",2,1\r\n\r\nOK\r\n')
    c.cmd('AT+SSLCFG="negotiatetime",2,"5"', b"\r\nERROR\r\n")
    c.cmd('AT+SSLCFG="nosuch",2,"5"', b"\r\nERROR\r\n")
    c.cmd('AT+SSLCFG="cacert",2,"ca.crt"')
    c.cmd('AT+SSLCFG="cacert",2', b'\r\n+SSLCFG: "cacert",2,"ca.crt"\r\n\r\nOK\r\n')


def test_tcp_listener(emulator, chat):
    emu = emulator("nm28")
    c = chat(emu)
    NM28Words().online(c)
    port = free_port()
    c.cmd('AT+IPOPEN=0,"TCP LISTENER","0.0.0.0",0,%d,0' % port, b"\r\nOK\r\n\r\n+IPOPEN: 0,0\r\n")
    client = socket.create_connection(("127.0.0.1", port))
    cport = client.getsockname()[1]
    c.expect(b'\r\n+IPURC: "incoming",1,0,"127.0.0.1",%d\r\n' % cport)
    client.sendall(b"hi module")
    c.expect(b'\r\n+IPURC: "recv",1,9\r\nhi module\r\n')
    c.cmd('AT+IPSENDEX=1,"6f6b"', b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    assert client.recv(10) == b"ok"
    client.close()
    c.expect(b'\r\n+IPURC: "closed",1\r\n')
    c.cmd("AT+IPSTATE=1,0", b"\r\n+IPSTATE: 0,TCP LISTENER,0.0.0.0,0,%d,3,1\r\n\r\nOK\r\n" % port)


def test_listener_refuses_clients_when_no_id_is_free(emulator, chat, echo_server):
    emu = emulator("nm28")
    c = chat(emu)
    w = NM28Words()
    w.online(c)
    port = free_port()
    c.cmd('AT+IPOPEN=0,"TCP LISTENER","0.0.0.0",0,%d,0' % port, b"\r\nOK\r\n\r\n+IPOPEN: 0,0\r\n")
    for sid in range(1, 8):
        w.open_tcp(c, echo_server.port, sid)
    client = socket.create_connection(("127.0.0.1", port))
    client.settimeout(5)
    assert client.recv(10) == b""


def test_udp_service(emulator, chat):
    emu = emulator("nm28")
    c = chat(emu)
    NM28Words().online(c)
    port = free_port()
    c.cmd('AT+IPOPEN=2,"UDP SERVICE","0.0.0.0",0,%d,0' % port, b"\r\nOK\r\n\r\n+IPOPEN: 2,0\r\n")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    pport = peer.getsockname()[1]
    peer.sendto(b"ping", ("127.0.0.1", port))
    c.expect(b'\r\n+IPURC: "recv",2,4,"127.0.0.1",%d\r\nping\r\n' % pport)
    c.cmd('AT+IPSEND=2,4,"127.0.0.1",%d' % pport, b"\r\nNETWRITE: 2,4\r\n\r\nCONNECT\r\n")
    c.send(b"pong")
    c.expect(b"\r\nSEND SUCCESS\r\n\r\nOK\r\n")
    peer.settimeout(5)
    assert peer.recvfrom(10) == (b"pong", ("127.0.0.1", port))
    c.cmd("AT+IPSWTMD=2,0")
    peer.sendto(b"buffered", ("127.0.0.1", port))
    c.expect(b"\r\nIPREAD: 2\r\n")
    c.cmd("AT+IPRD=2,100", b'\r\n+IPRD: 2,8,"127.0.0.1",%d\r\nbuffered\r\nOK\r\n' % pport)


def test_baud_pacing_holds_the_line_rate(emulator, chat):
    emu = emulator("nm28", baud=9600)
    c = chat(emu)
    start = time.monotonic()
    emu.inject(b"x" * 960)  # 9600 bits: one second at 9600 baud
    c.read_exactly(960)
    assert time.monotonic() - start > 0.9


def test_serial_line_over_tcp(tmp_path):
    from tools.emulator import Emulator

    import serial

    with Emulator("l610", serve=("127.0.0.1", 0)) as emu:
        emu.wait_idle()
        host, port = tuple(emu.serve_address or ())[:2]
        ser = serial.serial_for_url("socket://%s:%d" % (host, port), timeout=5)
        ser.write(b"ATE0\r")
        assert ser.read(len(b"ATE0\r\r\nOK\r\n")) == b"ATE0\r\r\nOK\r\n"
        ser.close()


def test_command_line(tmp_path):
    log = tmp_path / "line.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", "--dialect", "l610", "--log", str(log)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/")
        import serial

        ser = serial.Serial(path, 115200, timeout=0.5)
        want = b"AT+CGMM\r\r\nL610\r\n\r\nOK\r\n"
        got = b""
        deadline = time.monotonic() + 10
        while not got.endswith(b"OK\r\n"):
            # a module still booting ignores what it is sent: ask again, as a host does
            assert time.monotonic() < deadline, got
            ser.write(b"AT+CGMM\r")
            got += ser.read(200)
        assert got.endswith(want)
        ser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    text = log.read_text()
    assert "< b'AT+CGMM\\r'" in text and "L610" in text


def test_command_line_stops_cleanly_right_after_printing_its_path():
    """SIGTERM the moment the path is out: the handlers are already installed."""
    for _ in range(5):
        proc = subprocess.Popen([sys.executable, "-m", "tools.emulator"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("/dev/")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
