"""TLS on the NM28 through the driver, against loopback TLS servers with the tests' own CA,
on both runtimes. (The L610 manual has no TLS: see test_driver.)"""
from __future__ import annotations

import pytest

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
