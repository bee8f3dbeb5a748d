"""The emulator's line served on TCP (`--serve`): it works alone, at any volume, with nobody
on the pseudo-terminal; the line has one host at a time."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import serial

import atmodem
from host_tests import scenarios
from host_tests.emu_helpers import free_port
from tools.emulator import Emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_one_mebibyte_driver_echo_over_the_served_line_with_nobody_on_the_pty(tcp_echo):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tools.emulator", "--dialect", "nm28", "--serve", "127.0.0.1:%d" % port,
         "--async-delay", "0.005"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("/dev/")  # the pty: never opened here
        assert "serving on 127.0.0.1:%d" % port in proc.stderr.readline()
        m = atmodem.Modem(atmodem.hal.open_serial("socket://127.0.0.1:%d" % port), dialect="nm28")
        m.start()
        m.attach(apn="cmnet")
        assert scenarios.echo_stream(m, tcp_echo.port, size=1 << 20) == 1 << 20
        m.close()
    finally:
        proc.terminate()
        proc.wait(10)


def read_some(ser: serial.Serial, want: bytes, timeout: float = 5.0) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout
    while want not in got and time.monotonic() < deadline:
        got += ser.read(max(1, ser.in_waiting))
    return got


def test_one_host_at_a_time_tcp_client_while_attached_then_the_pty_again():
    with Emulator("nm28", serve=("127.0.0.1", 0), async_delay=0.005) as emu:
        emu.wait_idle()
        pty = serial.Serial(emu.path, 115200, timeout=0.1)
        pty.reset_input_buffer()
        net = serial.serial_for_url("socket://%s:%d" % tuple(emu.serve_address or ())[:2], timeout=0.1)
        time.sleep(0.2)  # the accept thread takes the client
        net.write(b"ATE0\r")
        assert b"OK\r\n" in read_some(net, b"OK\r\n")
        pty.write(b"AT+CSQ\r")  # input from either side is the module's; answers go to the client
        assert b"+CSQ:" in read_some(net, b"OK\r\n")
        assert pty.read(100) == b""
        net.close()
        time.sleep(0.2)
        pty.write(b"AT\r")
        assert read_some(pty, b"OK\r\n") == b"\r\nOK\r\n"
        pty.close()
