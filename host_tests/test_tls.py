"""TLS in the module through the driver, against loopback TLS servers with the tests' own CA,
on both runtimes: the NM28 (certificate files stored on it), the L610 (its CA uploaded by
atmodem, docs/l610-tls.md) and a Quectel (its certificates stored once, docs/quectel.md)."""
from __future__ import annotations

import pytest

from atmodem.dialects import names
from atmodem.dialects.base import Dialect
from host_tests.test_driver import RUNTIMES, run_scenario
from tools import loopback

SIZE = 256 * 1024


def emu(emulator, certs):
    return emulator("nm28", cert_dir=certs.dir, guard_time=0.2)


@pytest.mark.parametrize("mode", ["push", "buffer", "transparent"])
def test_good_certificate_echoes_256_kib(emulator, certs, runtime, mode):
    with loopback.echo_server(certs.server_context("good")) as srv:
        run_scenario(emu(emulator, certs), runtime, "nm28", "echo_stream", port=srv.port, mode=mode,
                     size=SIZE, host="localhost", ca="ca.crt", guard_ms=250)


def test_mutual_tls(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("good", require_client=True)) as srv:
        run_scenario(emu(emulator, certs), runtime, "nm28", "echo_stream", port=srv.port,
                     size=16384, host="localhost", ca="ca.crt", client=1)


def test_ignore_time_accepts_an_expired_certificate(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("expired")) as srv:
        run_scenario(emu(emulator, certs), runtime, "nm28", "echo_stream", port=srv.port,
                     size=16384, host="localhost", ca="ca.crt", ignore_time=1)


def test_verification_off_must_be_said_and_then_connects(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("foreign")) as srv:
        run_scenario(emu(emulator, certs), runtime, "nm28", "echo_stream", port=srv.port,
                     size=16384, host="localhost", verify=0)


@pytest.mark.parametrize("server,opts", [
    ("foreign", {}),                       # signed by another CA
    ("expired", {}),                       # out of its validity dates
    ("wrong_name", {}),                    # issued for another host name
])
def test_bad_certificates_fail_clearly(emulator, certs, runtime, server, opts):
    with loopback.echo_server(certs.server_context(server)) as srv:
        run_scenario(emu(emulator, certs), runtime, "nm28", "tls_refused", port=srv.port,
                     host="localhost", ca="ca.crt", **opts)


def test_tls_needs_a_ca_or_an_explicit_no():
    import atmodem

    with pytest.raises(ValueError, match="verify=False"):
        atmodem.TLS()
    with pytest.raises(ValueError, match="inject"):
        atmodem.TLS(ca='ca.crt"\r\nAT+CFUN=0')


# ---------------------------------------------------------------- the L610 (+GTSSL*)
def l610(emulator):
    return emulator("l610", guard_time=0.2)


@pytest.mark.parametrize("mode,size", [("push", SIZE), ("hex", 32 * 1024)])
def test_l610_verified_echo(emulator, certs, runtime, mode, size):
    with loopback.echo_server(certs.server_context("good")) as srv:
        run_scenario(l610(emulator), runtime, "l610", "echo_stream", port=srv.port, mode=mode,
                     size=size, host="localhost", ca_pem=certs.dir + "/ca.crt", guard_ms=250)


@pytest.mark.parametrize("server", ["foreign", "expired", "wrong_name"])
def test_l610_bad_certificates_fail_with_the_modules_tls_error(emulator, certs, runtime, server):
    with loopback.echo_server(certs.server_context(server)) as srv:
        out = run_scenario(l610(emulator), runtime, "l610", "tls_refused", port=srv.port, host="localhost",
                           ca_pem=certs.dir + "/ca.crt")
    if runtime == "cpython":
        assert "AT+MIPOPEN" in out and "TLS error -11" in out, out


def test_l610_verification_off_must_be_said_and_then_connects(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("foreign")) as srv:
        run_scenario(l610(emulator), runtime, "l610", "echo_stream", port=srv.port, mode="push",
                     size=16384, host="localhost", verify=0)


def test_l610_uploads_its_ca_once_per_boot_of_the_module(emulator, certs):
    """The L610 keeps no certificates (RAM only): the CA goes up once, later opens reuse it,
    and after the module rebooted it goes up again. Never on every connect."""
    import atmodem

    emu = l610(emulator)
    pem = open(certs.dir + "/ca.crt", "rb").read()
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect="l610", guard_ms=250)
    m.attach(apn="cmnet")
    tls = atmodem.TLS(ca=pem)
    with loopback.echo_server(certs.server_context("good")) as srv:
        for _ in range(3):
            s = m.socket(tls=tls)
            s.settimeout(30)
            s.connect(("localhost", srv.port))
            s.sendall(b"ping")
            assert s.read(4) == b"ping"
            s.close()
        assert emu.tls_state()["uploads"] == 1 and emu.tls_state()["mode"] == 1
        emu.reboot()
        m.until(lambda: m.state == "off", 10000, "the reboot")
        m.attach(apn="cmnet")
        s = m.socket(tls=atmodem.TLS(ca=pem))  # the same PEM in another TLS object: same CA
        s.settimeout(30)
        s.connect(("localhost", srv.port))
        s.close()
        assert emu.tls_state()["uploads"] == 2
    m.close()


# ---------------------------------------------------------------- a Quectel (+QSSL*)
def quectel(emulator):
    return emulator("quectel", guard_time=0.2)


def test_quectel_verified_echo_256_kib(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("good")) as srv:
        run_scenario(quectel(emulator), runtime, "quectel", "echo_stream", port=srv.port, mode="buffer",
                     size=SIZE, host="localhost", ca_pem=certs.dir + "/ca.crt")


def test_quectel_mutual_tls(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("good", require_client=True)) as srv:
        run_scenario(quectel(emulator), runtime, "quectel", "echo_stream", port=srv.port, mode="buffer",
                     size=16384, host="localhost", ca_pem=certs.dir + "/ca.crt", client=1)


@pytest.mark.parametrize("server", ["foreign", "expired", "wrong_name"])
def test_quectel_bad_certificates_fail_clearly(emulator, certs, runtime, server):
    with loopback.echo_server(certs.server_context(server)) as srv:
        out = run_scenario(quectel(emulator), runtime, "quectel", "tls_refused", port=srv.port, host="localhost",
                           ca_pem=certs.dir + "/ca.crt")
    if runtime == "cpython":
        assert "AT+QSSLOPEN" in out and "566" in out, out


def test_quectel_verification_off_must_be_said_and_then_connects(emulator, certs, runtime):
    with loopback.echo_server(certs.server_context("foreign")) as srv:
        run_scenario(quectel(emulator), runtime, "quectel", "echo_stream", port=srv.port, mode="buffer",
                     size=16384, host="localhost", verify=0)


def test_quectel_stores_each_certificate_once_across_reboots(emulator, certs):
    """The certificates go into the module's flash once; later opens, other TLS objects with
    the same PEM and the module's reboots reuse the file (flash wear); the SSL context's
    settings, which a boot forgets, are written again."""
    import atmodem

    emu = quectel(emulator)
    pem = open(certs.dir + "/ca.crt", "rb").read()
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect="quectel", guard_ms=250)
    m.attach(apn="cmnet")
    with loopback.echo_server(certs.server_context("good")) as srv:
        for _ in range(3):
            s = m.socket(tls=atmodem.TLS(ca=pem))
            s.settimeout(30)
            s.connect(("localhost", srv.port))
            s.sendall(b"ping")
            assert s.read(4) == b"ping"
            s.close()
        sent = emu.transcript("<")
        assert sent.count(b"AT+QFUPL=") == 1 and sent.count(b'AT+QSSLCFG="cacert"') == 1, sent
        emu.reboot()
        m.until(lambda: m.state == "off", 10000, "the reboot")
        m.attach(apn="cmnet")
        s = m.socket(tls=atmodem.TLS(ca=pem))
        s.settimeout(30)
        s.connect(("localhost", srv.port))
        s.close()
        sent = emu.transcript("<")
        assert sent.count(b"AT+QFUPL=") == 1 and sent.count(b'AT+QSSLCFG="cacert"') == 2, sent
    with pytest.raises(ValueError, match="buffer mode"):
        m.socket(mode="push", tls=atmodem.TLS(ca=pem))
    m.close()


# ---------------------------------------------------------------- the module's clock
@pytest.mark.parametrize("dialect", names())
def test_sync_clock_sets_the_modules_clock_or_says_it_cannot(emulator, dialect):
    """Certificates need the module's clock: network time where the module has it (L610
    AT+MIPNTP, Quectel AT+QNTP), a clear NotImplementedError where it has none."""
    import time

    import atmodem

    emu = emulator(dialect)
    m = atmodem.Modem(atmodem.hal.open_serial(emu.path), dialect=dialect)
    m.attach(apn="cmnet")
    with pytest.raises(ValueError, match="inject"):
        m.sync_clock('pool.ntp.org"\r\nAT+CFUN=0')
    if type(m.dialect).sync_clock is Dialect.sync_clock:
        with pytest.raises(NotImplementedError, match="network time"):
            m.sync_clock()
    else:
        clock = m.sync_clock("ntp.example", 123, timeout=10)
        assert clock.startswith(time.strftime("%y/%m/%d", time.gmtime())), clock
    m.close()
