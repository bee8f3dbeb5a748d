"""The L610 emulator's TLS in the module (AT+GTSSL*, AT+MIPOPEN protocol 2), byte by
byte on its line, against loopback TLS servers (docs/l610-tls.md)."""
from __future__ import annotations

import base64
import socket
import struct
import time

import pytest

from host_tests.emu_helpers import L610Words, free_port
from tools import loopback

W = L610Words()
SENT = b"\r\n+MIPPUSH: 1,0\r\n\r\n+MIPSEND: 1,0,2048\r\n\r\nOK\r\n"


def pem(ca) -> bytes:
    """A CA as SMDI uploads it: PEM with CR LF line ends."""
    return ca.cert_pem.bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def bare_base64(ca) -> bytes:
    """The same certificate without its BEGIN/END lines (the real firmware's -19)."""
    body = [ln for ln in pem(ca).split(b"\r\n") if ln and not ln.startswith(b"-----")]
    assert base64.b64decode(b"".join(body))  # still the certificate, as Base64
    return b"\r\n".join(body) + b"\r\n"


def upload(c, data: bytes, pieces: int = 1) -> None:
    c.cmd('AT+GTSSLFILE="TRUSTFILE",%d' % len(data), b"\r\n>")
    step = -(-len(data) // pieces)
    for i in range(0, len(data), step):
        c.send(data[i : i + step])
        time.sleep(0.05)  # the pieces arrive apart
    c.expect(b"\r\nOK\r\n")


def verified(c, ca_file: bytes) -> None:
    c.cmd("AT+GTSSLVER=4")
    upload(c, ca_file)
    c.cmd("AT+GTSSLMODE=1")


def tls_open(c, port: int, result: int, host: str = "localhost", sid: int = 1) -> None:
    c.cmd('AT+MIPOPEN=%d,,"%s",%d,2' % (sid, host, port), b"\r\nOK\r\n")
    c.expect(b"\r\n+MIPOPEN: %d,%d\r\n" % (sid, result), timeout=10)


def sslerr(c, n: int) -> None:
    c.cmd("AT+GTSSLERR?", b"\r\n+GTSSLERR: %d\r\n\r\nOK\r\n" % n)


def sni_seen(ctx, names: list):
    ctx.sni_callback = lambda obj, name, c: names.append(name)
    return ctx


@pytest.fixture
def l610(emulator, chat):
    emu = emulator("l610")
    c = chat(emu)
    W.online(c)  # echo off, IPRFMT 2, dialled
    return emu, c


def test_version_and_mode_set_and_read_back(l610):
    emu, c = l610
    c.cmd("AT+GTSSLVER?", b"\r\n+GTSSLVER: 0\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLMODE?", b"\r\n+GTSSLMODE: 0\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,0\r\n\r\nOK\r\n")
    sslerr(c, 0)
    for v in range(5):
        c.cmd("AT+GTSSLVER=%d" % v)
        c.cmd("AT+GTSSLVER?", b"\r\n+GTSSLVER: %d\r\n\r\nOK\r\n" % v)
    for m in (1, 0, 1):
        c.cmd("AT+GTSSLMODE=%d" % m)
        c.cmd("AT+GTSSLMODE?", b"\r\n+GTSSLMODE: %d\r\n\r\nOK\r\n" % m)
    for bad in ("AT+GTSSLVER=5", "AT+GTSSLVER=-1", "AT+GTSSLVER=x", "AT+GTSSLVER=",
                "AT+GTSSLMODE=2", "AT+GTSSLMODE=1,1", "AT+GTSSLERR=0"):
        c.cmd(bad, b"\r\nERROR\r\n")
    c.cmd("AT+GTSSLVER?", b"\r\n+GTSSLVER: 4\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLMODE?", b"\r\n+GTSSLMODE: 1\r\n\r\nOK\r\n")
    assert emu.tls_state() == dict(mode=1, version=4, trust=0, uploads=0, error=0)


def test_trustfile_upload_in_two_pieces_is_raw_and_counted(emulator, chat, certs):
    emu = emulator("l610")
    c = chat(emu)  # echo on: the payload must not be echoed
    data = pem(certs.ca)
    c.cmd('AT+GTSSLFILE="TRUSTFILE",%d' % len(data), b"\r\n>")
    half = len(data) // 2
    c.send(data[:half])
    c.silent(0.2)  # no echo, no answer before the last byte
    c.send(data[half:])
    c.expect(b"\r\nOK\r\n")
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,1\r\n\r\nOK\r\n")
    assert emu.tls_state()["trust"] == 1 and emu.tls_state()["uploads"] == 1
    # Binary-safe: CR, NUL, Ctrl-Z and "AT" inside the payload are data, not commands.
    blob = b"AT\r\x00\x1a\xff\r\nAT+CFUN=0\r"
    c.cmd('AT+GTSSLFILE="TRUSTFILE",%d' % len(blob), b"\r\n>")
    c.send(blob)
    c.expect(b"\r\nOK\r\n")
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,2\r\n\r\nOK\r\n")
    c.cmd("AT+CFUN?", b"\r\n+CFUN: 1\r\n\r\nOK\r\n")


@pytest.mark.parametrize(
    "line",
    [
        'AT+GTSSLFILE="TRUSTFILE",3',
        'AT+GTSSLFILE="TRUSTFILE",8193',
        'AT+GTSSLFILE="TRUSTFILE",0',
        'AT+GTSSLFILE="CAFILE",100',
        'AT+GTSSLFILE="KEYFILE",100',
        "AT+GTSSLFILE=TRUSTFILE,100",
        'AT+GTSSLFILE="TRUSTFILE"',
    ],
)
def test_trustfile_bad_uploads(l610, line):
    emu, c = l610
    c.cmd(line, b"\r\nERROR\r\n")
    c.cmd("AT")  # no prompt is waiting for bytes
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,0\r\n\r\nOK\r\n")


def test_trustfile_length_limits(l610):
    emu, c = l610
    upload(c, b"abcd")
    upload(c, b"x" * 8192, pieces=5)
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,2\r\n\r\nOK\r\n")


def test_verified_open_send_and_echo(l610, certs):
    emu, c = l610
    verified(c, pem(certs.ca))
    names: list = []
    with loopback.echo_server(sni_seen(certs.server_context("good"), names)) as srv:
        tls_open(c, srv.port, 1)
        sslerr(c, 0)
        c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 2,3,4,5,6\r\n\r\nOK\r\n")
        c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE: 1\r\n\r\nOK\r\n")
        c.cmd("AT+MIPSEND=1,12", b"\r\n>")
        c.send(b"hello\x00\r\nTLS!")
        c.expect(SENT + b"\r\n+MIPRTCP: 1,12,hello\x00\r\nTLS!\r\n")
        c.cmd("AT+MIPCLOSE=1", b"\r\nOK\r\n\r\n+MIPCLOSE: 1,0\r\n")
        c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE: 0\r\n\r\nOK\r\n")
    assert names == ["localhost"]
    assert emu.tls_state() == dict(mode=1, version=4, trust=1, uploads=1, error=0)


def test_tls_socket_in_hex_and_buffer_formats(l610, certs):
    emu, c = l610
    verified(c, pem(certs.ca))
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 1, host="127.0.0.1")  # the certificate names 127.0.0.1 too
        c.cmd('AT+GTSET="IPRFMT",0')
        W.send(c, b"hex")
        c.expect(b"\r\n+MIPRTCP: 1,0,686578\r\n")
        c.cmd('AT+GTSET="IPRFMT",5')
        W.send(c, b"held")
        c.expect(b"\r\n+MIPREAD: 1,4\r\n")
        c.cmd("AT+MIPREAD=1,100", b"\r\n+MIPDATA: 1,4\r\nheld\r\nOK\r\n")


def test_peer_close_on_tls_socket(l610, certs):
    emu, c = l610
    verified(c, pem(certs.ca))

    def bye(conn):
        conn.sendall(b"bye")
        conn.unwrap().close()  # close_notify, then the FIN

    with loopback.TcpServer(bye, certs.server_context("good")) as srv:
        c.cmd('AT+MIPOPEN=1,,"localhost",%d,2' % srv.port, b"\r\nOK\r\n")
        c.expect(b"\r\n+MIPOPEN: 1,1\r\n\r\n+MIPRTCP: 1,3,bye\r\n\r\n+MIPSTAT: 1,1\r\n", timeout=10)
        c.cmd("AT+MIPCLOSE?", b"\r\n+MIPCLOSE: 1\r\n\r\nOK\r\n")


@pytest.mark.parametrize(
    "server,host",
    [
        ("foreign", "localhost"),  # signed by a CA that was not uploaded
        ("wrong_name", "127.0.0.1"),  # for wrong.example only
        ("wrong_name", "localhost"),
        ("expired", "localhost"),
    ],
)
def test_verification_failure_is_minus_11(l610, certs, server, host):
    emu, c = l610
    verified(c, pem(certs.ca))
    with loopback.echo_server(certs.server_context(server)) as srv:
        tls_open(c, srv.port, 0, host=host)
    sslerr(c, -11)
    c.cmd("AT+MIPOPEN?", b"\r\n+MIPOPEN: 1,2,3,4,5,6\r\n\r\nOK\r\n")
    assert emu.tls_state()["error"] == -11


def test_wrong_ca_uploaded(l610, certs):
    emu, c = l610
    verified(c, pem(certs.other_ca))
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 0)
    sslerr(c, -11)


def test_bare_base64_trustfile_fails_the_next_open_with_minus_19(l610, certs):
    emu, c = l610
    verified(c, bare_base64(certs.ca))  # accepted at upload
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,1\r\n\r\nOK\r\n")
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 0)
        time.sleep(0.1)
        assert not srv.clients and not srv.errors  # it never connected
    sslerr(c, -19)


def test_a_good_upload_after_a_bare_base64_one_opens(l610, certs):
    """As SMDI saw on a real L610: the bad entry stays (the count is 2), the good one is used."""
    emu, c = l610
    verified(c, bare_base64(certs.ca))
    upload(c, pem(certs.ca))
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,2\r\n\r\nOK\r\n")
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 1)
    sslerr(c, 0)


def test_unreadable_pem_trustfile_is_minus_19(l610, certs):
    """Our decision: a file with the PEM mark that OpenSSL cannot read counts as the
    same configuration failure."""
    emu, c = l610
    verified(c, b"-----BEGIN CERTIFICATE-----\r\nbm90IGEgY2VydA==\r\n-----END CERTIFICATE-----\r\n")
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 0)
    sslerr(c, -19)


def test_verified_open_without_trustfile_is_minus_19(l610, certs):
    emu, c = l610
    c.cmd("AT+GTSSLMODE=1")
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 0)
    sslerr(c, -19)


def test_handshake_failure_is_minus_7_and_success_clears_it(l610, certs):
    emu, c = l610
    verified(c, pem(certs.ca))
    with loopback.TcpServer(lambda conn: None) as srv:  # accepts, then closes: no TLS
        tls_open(c, srv.port, 0)
    sslerr(c, -7)

    def reset(conn):  # takes the ClientHello, then a reset (RST, no FIN)
        conn.recv(1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with loopback.TcpServer(reset) as srv:
        tls_open(c, srv.port, 0)
    sslerr(c, -7)
    with loopback.echo_server() as plain:  # plain TCP echo: the ClientHello comes back
        tls_open(c, plain.port, 0)
    sslerr(c, -7)
    with loopback.echo_server(certs.server_context("good")) as srv:
        tls_open(c, srv.port, 1)
    sslerr(c, 0)


def test_no_verification_connects_to_an_unknown_ca(l610, certs):
    emu, c = l610
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,0\r\n\r\nOK\r\n")
    names: list = []
    with loopback.echo_server(sni_seen(certs.server_context("foreign"), names)) as srv:
        tls_open(c, srv.port, 1)  # GTSSLMODE 0, as after power-on
        W.send(c, b"unverified")
        c.expect(W.pushed(b"unverified"))
    assert names == ["localhost"]  # SNI without verification too
    sslerr(c, 0)


def test_tls_open_is_asynchronous_like_tcp(l610, certs):
    """A second async command before the result is ERROR, as for a TCP open; the fault
    switches apply to the TLS open's line."""
    emu, c = l610
    with loopback.echo_server(certs.server_context("good")) as srv:
        emu.fail_command("AT+MIPOPEN=", "error", count=1)
        c.cmd('AT+MIPOPEN=1,,"localhost",%d,2' % srv.port, b"\r\nERROR\r\n")
        c.cmd('AT+MIPOPEN=1,,"localhost",%d,2' % srv.port, b"\r\nOK\r\n")
        c.expect(b"\r\n+MIPOPEN: 1,1\r\n", timeout=10)
    c.cmd('AT+MIPOPEN=2,,"127.0.0.1",%d,3' % free_port(), b"\r\nERROR\r\n")


def test_mipodm_has_no_tls(l610, certs):
    emu, c = l610
    with loopback.echo_server(certs.server_context("good")) as srv:
        c.cmd('AT+MIPODM=1,,"localhost",%d,2' % srv.port, b"\r\nERROR\r\n")
    assert emu.open_ids() == []


def test_reboot_forgets_tls_state(l610, certs):
    emu, c = l610
    verified(c, pem(certs.ca))
    with loopback.echo_server(certs.server_context("foreign")) as srv:
        tls_open(c, srv.port, 0)
    sslerr(c, -11)
    assert emu.tls_state() == dict(mode=1, version=4, trust=1, uploads=1, error=-11)
    emu.reboot()
    c.expect(b"\r\nAT command ready\r\n\r\n+SIM READY\r\n")
    c.echo = True
    c.cmd("AT+GTSSLVER?", b"\r\n+GTSSLVER: 0\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLMODE?", b"\r\n+GTSSLMODE: 0\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLFILE?", b"\r\n+GTSSLFILE: TRUSTFILE,0\r\n\r\nOK\r\n")
    c.cmd("AT+GTSSLERR?", b"\r\n+GTSSLERR: 0\r\n\r\nOK\r\n")
    assert emu.tls_state() == dict(mode=0, version=0, trust=0, uploads=1, error=0)
    emu.power_off()
    emu.power_on()
    assert emu.tls_state() == dict(mode=0, version=0, trust=0, uploads=1, error=0)


def test_tls_state_is_l610_only(emulator):
    with pytest.raises(NotImplementedError):
        emulator("nm28").tls_state()
