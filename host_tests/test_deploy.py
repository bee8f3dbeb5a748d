"""tools.deploy --dry-run prints a command a person can paste: the line is split as a shell
would, read by mpremote's own command parser (its handlers replaced by a recorder, so no board
is needed), the code it execs compiles under MicroPython, and every local path it copies exists
after the dry run has ended."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MP = os.path.join(ROOT, ".venv", "bin", "micropython")


def mpremote_steps(argv: list, monkeypatch) -> list:
    """What mpremote would do with argv, as (command, parsed arguments), through its own
    main(): command expansion ('cp' -> 'fs cp', 'reset' -> exec), '+' chaining, argparse."""
    from mpremote import main as mpmain

    steps = []
    for name, entry in list(mpmain._COMMANDS.items()):
        if isinstance(entry, tuple):
            def record(state, args, name=name):
                state.did_action()  # or mpremote would open a REPL on the device at the end
                steps.append((name, args))

            monkeypatch.setitem(mpmain._COMMANDS, name, (record, entry[1]))
    monkeypatch.setattr(sys, "argv", ["mpremote"] + argv)
    assert mpmain.main() == 0
    return steps


def compiles_under_micropython(code: str) -> str:
    r = subprocess.run([MP, "-c", "import sys\ncompile(sys.stdin.read(), '<exec>', 'exec')\nprint('compiled')"],
                       input=code, capture_output=True, text=True, timeout=30)
    return r.stdout.strip() + r.stderr


@pytest.mark.parametrize("board,arch,mpy", [
    ("esp32_devkitc", "xtensawin", True), ("rpi_pico", "armv6m", True), ("rpi_pico", "armv6m", False),
])
def test_dry_run_prints_a_command_that_can_be_pasted(monkeypatch, board, arch, mpy):
    r = subprocess.run([sys.executable, "-m", "tools.deploy", "--board", board, "--port", "/dev/ttyX", "--dry-run"]
                       + (["--mpy"] if mpy else []), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().split("\n")
    if mpy:
        assert "compiled for %s" % arch in lines[0]
    argv = shlex.split(lines[-1])  # as the shell splits the pasted line
    assert os.path.basename(argv[0]) == "mpremote"
    steps = mpremote_steps(argv[1:], monkeypatch)
    assert [s[0] for s in steps] == ["connect", "exec", "fs", "fs", "fs", "fs", "exec"], steps
    assert steps[0][1].device == ["/dev/ttyX"]
    for name, args in steps:
        if name == "exec":
            assert compiles_under_micropython(args.expr[0]) == "compiled", args.expr[0]
    copied = {}
    for name, args in steps:
        if name == "fs":
            assert args.command == ["cp"]
            src, dest = args.path
            assert os.path.exists(src) and dest.startswith(":/"), (src, dest)
            copied[dest] = src
    assert set(copied) == {":/lib/", ":/atmodem_app.py", ":/config.py", ":/main.py"}
    package = copied[":/lib/"]
    ext = ".mpy" if mpy else ".py"
    for rel in ("__init__", "modem", "hal/__init__", "hal/machine_uart", "hal/pins"):
        assert os.path.isfile(os.path.join(package, rel + ext)), rel
    assert "machine.reset()" in steps[-1][1].expr[0]


class BoardFiles:
    """The part of mpremote's transport that `mip install` writes through, onto a local
    folder standing in for the board's filesystem (no board here: that is the stand-in)."""

    def __init__(self, root: str):
        self.root = root

    def _p(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def fs_exists(self, path: str) -> bool:
        return os.path.exists(self._p(path))

    def fs_mkdir(self, path: str) -> None:
        os.mkdir(self._p(path))

    def fs_writefile(self, dest: str, data: bytes, progress_callback=None) -> None:
        with open(self._p(dest), "wb") as f:
            f.write(data)

    def fs_hashfile(self, path: str, algo: str):
        raise FileNotFoundError(path)


def test_mpremote_mip_installs_from_a_local_checkout(tmp_path, emulator, capsys):
    """README: `mpremote mip install /path/to/atmodem/package.json` from a checkout, before
    the repository has a public address; the installed package then runs on MicroPython."""
    from mpremote import mip

    board = tmp_path / "board"
    board.mkdir()
    mip._install_package(BoardFiles(str(board)), os.path.join(ROOT, "package.json"), mip._PACKAGE_INDEX,
                         "/lib", None, True)
    assert "Installing: /lib/atmodem/modem.py" in capsys.readouterr().out
    emu = emulator("nm28")
    code = "import atmodem; m = atmodem.Modem(atmodem.hal.open_serial(%r)); print(m.start()); print(atmodem.__file__)" % emu.path
    r = subprocess.run([MP, "-c", code], env={"MICROPYPATH": str(board / "lib") + ":.frozen"},
                       capture_output=True, text=True, timeout=60)
    out = r.stdout.split()
    assert out[:1] == ["NM28"] and out[1].startswith(str(board / "lib")), r.stdout + r.stderr
