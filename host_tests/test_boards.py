"""Each board's main.py runs unmodified on the micropython binary against the emulator,
with a fake machine module whose UART is the emulator's pseudo-terminal and whose pins are
wired back to the emulated module: the power key really switches it on."""
from __future__ import annotations

import os
import runpy
import shutil
import socket
import subprocess
import threading
import time
from typing import List

import pytest

from host_tests.emu_helpers import WORDS

from tools import loopback
from tools.emulator import Emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")
FAKE_MACHINE = os.path.join(ROOT, "host_tests", "fake_machine")

# With FLOW = True the app needs machine.UART.RTS / .CTS, which the fake UART lacks: this
# machine module wraps the fake one, adds them (the rp2 values) and prints what UART is given.
RECORDING_MACHINE = '''
_fake = {}
exec(open(%r).read(), _fake)
Pin = _fake["Pin"]


class UART(_fake["UART"]):
    CTS = 1
    RTS = 2

    def __init__(self, uart_id, baudrate=115200, **kw):
        rts, cts = kw.get("rts"), kw.get("cts")
        print("UART(%%r, flow=%%r, rts=Pin(%%r), cts=Pin(%%r))"
              %% (uart_id, kw.get("flow"), getattr(rts, "id", rts), getattr(cts, "id", cts)))
        super().__init__(uart_id, baudrate, **kw)
''' % os.path.join(FAKE_MACHINE, "machine.py")


class Wiring:
    """The board's power key and reset lines as the emulated module feels them. The fake
    machine module reports every pin change here over TCP, as it happens; a key held long
    enough switches the module on (or off), a reset pulse reboots it."""

    KEY_ON_S = 1.0  # held at least this long, an off module switches on when released
    KEY_OFF_S = 2.5  # held at least this long, an on module switches off
    RESET_S = 0.1

    def __init__(self, emu: Emulator, key: int, reset: int):
        self.emu, self.key, self.reset = emu, str(key), str(reset)
        self.presses: List[float] = []  # how long the key was held, each time
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        since = {}
        with conn, conn.makefile("r") as lines:
            for line in lines:
                pin, value = line.split()
                now = time.monotonic()
                if value == "1":
                    since[pin] = now
                elif pin in since:
                    self._released(pin, now - since.pop(pin))

    def _released(self, pin: str, held: float) -> None:
        on = self.emu.mod.powered
        if pin == self.key:
            self.presses.append(held)
            if not on and held >= self.KEY_ON_S:
                self.emu.power_on()
            elif on and held >= self.KEY_OFF_S:
                self.emu.power_off()
        elif pin == self.reset and on and held >= self.RESET_S:
            self.emu.reboot()

    def close(self) -> None:
        self.listener.close()


def leave_in_a_data_session(emu, port: int) -> None:
    """A program that ran before the board reset: a transparent socket, never closed."""
    import atmodem

    uart = atmodem.hal.open_serial(emu.path)
    m = atmodem.Modem(uart)
    m.attach(apn="cmnet")
    s = m.socket(atmodem.SOCK_STREAM, mode="transparent")
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"left behind\n")
    uart.close()  # the board resets: no close(), no +++
    assert emu.mod.data_sock is not None  # the module is still in data mode


@pytest.mark.parametrize("board,dialect,start_off,flow,data_session", [
    ("esp32_devkitc", "nm28", True, False, False),
    ("rpi_pico", "l610", True, False, False),
    ("esp32_devkitc", "l610", False, True, False),
    ("rpi_pico", "nm28", False, True, False),
    ("esp32_devkitc", "nm28", False, False, True),
    ("rpi_pico", "l610", False, False, True),
])
def test_board_example_runs_unmodified(tmp_path, emulator, board, dialect, start_off, flow, data_session):
    app = tmp_path / "app"
    app.mkdir()
    for name in ("main.py", "config.py"):
        shutil.copy(os.path.join(ROOT, "boards", board, name), app / name)
    shutil.copy(os.path.join(ROOT, "boards", "atmodem_app.py"), app / "atmodem_app.py")
    config = runpy.run_path(str(app / "config.py"))
    emu = emulator(dialect)
    if start_off:
        emu.wait_idle()
        emu.power_off()
    wiring = Wiring(emu, config["POWER_KEY"], config["RESET"])
    if flow:
        (app / "machine.py").write_text(RECORDING_MACHINE)
    try:
        with loopback.echo_server() as srv:
            if data_session:
                leave_in_a_data_session(emu, srv.port)
            (app / "site_config.py").write_text("HOST = 'localhost'\nPORT = %d\nFLOW = %r\n" % (srv.port, flow))
            env = {
                "MICROPYPATH": ":".join([str(app), os.path.join(ROOT, "lib"), FAKE_MACHINE, ".frozen"]),
                "ATMODEM_FAKE_UART": emu.path,
                "ATMODEM_FAKE_PINS": wiring.address,
            }
            r = subprocess.run([MP, str(app / "main.py")], env=env, capture_output=True, text=True,
                               timeout=60, cwd=str(app))
    finally:
        wiring.close()
    out = r.stdout + r.stderr
    assert "echo: b'hello from atmodem\\n'" in r.stdout, out
    assert ("module: %s" % WORDS[dialect].model.decode()) in r.stdout, out
    if start_off:
        assert "pressing the power key" in r.stdout, out
        assert len(wiring.presses) == 1 and Wiring.KEY_ON_S <= wiring.presses[0] < Wiring.KEY_OFF_S, wiring.presses
    else:  # on already, even in a data session: a key press could have switched it off
        assert "power key" not in r.stdout and wiring.presses == [], out
    if dialect == "l610" and not data_session:  # README, Quick start on a board, step 4
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        block = readme[readme.index("Expected output (an L610"):]
        block = block[block.index("```\n") + 4:]
        expected = [ln.strip() for ln in block[:block.index("```")].strip().split("\n")]
        printed = [ln.strip() for ln in r.stdout.strip().split("\n") if "power key" not in ln and "UART(" not in ln]
        assert printed == expected, (r.stdout, expected)  # the README says where the key line comes
    if data_session:  # the app escaped the session and closed the socket left behind
        assert emu.mod.data_sock is None and b"+++" in emu.transcript("<"), out
    if flow:
        assert "UART(%d, flow=3, rts=Pin(%d), cts=Pin(%d))" % (config["UART_ID"], config["RTS"], config["CTS"]) in r.stdout, out


def test_esp32_config_avoids_strapping_flash_psram_and_input_only_pins():
    """ESP32 (WROOM-32 on a DevKitC, or WROVER): GPIO0, 2, 5, 12, 15 are strapping pins read
    at reset (GPIO5 is pulled up: through an NPN it would hold the module in reset or press
    its key on every board reset); GPIO6-11 are the flash; GPIO16/17 are the PSRAM on WROVER
    modules; GPIO34-39 are inputs only; GPIO1/3 are the USB serial (REPL)."""
    config = runpy.run_path(os.path.join(ROOT, "boards", "esp32_devkitc", "config.py"))
    strapping, flash, psram, console = {0, 2, 5, 12, 15}, set(range(6, 12)), {16, 17}, {1, 3}
    used = {name: config[name] for name in ("TX", "RX", "RTS", "CTS", "POWER_KEY", "RESET")}
    for name, pin in used.items():
        assert pin not in strapping | flash | psram | console, (name, pin)
        if name != "RX" and name != "CTS":
            assert pin < 34, (name, pin)  # an output
    assert len(set(used.values())) == len(used), used
