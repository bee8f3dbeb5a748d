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


def deploy(argv: list, monkeypatch, capsys, dry: bool) -> tuple:
    """tools.deploy.main(argv) in this process: (output, the command it ran or None). A dry
    run may start no process at all (not mpremote, not mpy-cross)."""
    from tools import build_mpy, deploy as dep

    ran = []

    def refuse(*args, **kw):
        raise AssertionError("a dry run started a process: %r" % (args,))

    with monkeypatch.context() as mp:
        if dry:
            for name in ("run", "call", "Popen"):
                mp.setattr(subprocess, name, refuse)
            mp.setattr(build_mpy, "build", refuse)
        else:
            mp.setattr(dep.subprocess, "call", lambda cmd: ran.append(cmd) or 0)
        assert dep.main(argv) == 0
    return capsys.readouterr().out, (ran[0] if ran else None)


def board_files(ext: str) -> set:
    """What belongs on a board: every module but the CPython and unix ports."""
    from tools import build_mpy

    return {rel[:-3] + ext for rel in build_mpy.sources() if not any(rel.endswith(s) for s in build_mpy.BOARD_SKIP)}


@pytest.mark.parametrize("board,arch,mpy,dry", [
    ("esp32_devkitc", "xtensawin", True, False), ("rpi_pico", "armv6m", True, False),
    ("rpi_pico", "armv6m", False, True), ("esp32_devkitc", "xtensawin", False, False),
])
def test_deploy_copies_the_board_files_in_a_command_that_can_be_pasted(monkeypatch, capsys, board, arch, mpy, dry):
    argv = ["--board", board, "--port", "/dev/ttyX"] + (["--mpy"] if mpy else []) + (["--dry-run"] if dry else [])
    out, ran = deploy(argv, monkeypatch, capsys, dry)
    lines = out.strip().split("\n")
    if mpy:
        assert "compiled for %s" % arch in lines[0]
    line = [ln for ln in lines if ln.startswith(("mpremote", "/"))][0]
    argv = shlex.split(line)  # as the shell splits the pasted line
    if ran is not None:
        assert ran == argv
    assert os.path.basename(argv[0]) == "mpremote"
    assert "mpremote connect /dev/ttyX repl" in out  # how to see the example's output
    steps = mpremote_steps(argv[1:], monkeypatch)
    assert steps[0][0] == "connect" and steps[0][1].device == ["/dev/ttyX"]
    assert steps[1][0] == "exec" and steps[-1][0] == "exec", steps
    assert "machine.reset()" in steps[-1][1].expr[0]
    for name, args in steps:
        if name == "exec":
            assert compiles_under_micropython(args.expr[0]) == "compiled", args.expr[0]
    dirs = set()
    copied = set()
    apps = {}
    for name, args in steps[2:-1]:
        assert name == "fs" and args.command == ["cp"], (name, args)
        *srcs, dest = args.path
        assert dest.startswith(":/"), dest
        for src in srcs:
            assert os.path.isfile(src), src
            if dest.startswith(":/lib/atmodem"):
                assert dest.endswith("/")
                dirs.add(dest)
                copied.add(dest[len(":/lib/atmodem/"):] + os.path.basename(src))
            else:
                apps[dest] = src
    assert set(apps) == {":/atmodem_app.py", ":/config.py", ":/main.py"}
    assert dirs == {":/lib/atmodem/", ":/lib/atmodem/hal/", ":/lib/atmodem/dialects/"}
    ext = ".mpy" if mpy else ".py"
    assert copied == {f.replace("atmodem/", "", 1) for f in board_files(ext)}
    for never in ("hal/pyserial_port", "errors_cpython", "hal/unix_port"):
        assert never + ext not in copied
    made = steps[1][1].expr[0]
    for d in dirs:  # the exec makes the folders cp copies into
        assert repr(d[1:].rstrip("/")) in made or '"%s"' % d[1:].rstrip("/") in made, (d, made)


def test_dry_run_with_mpy_compiles_nothing_and_says_what_it_would(monkeypatch, capsys):
    out, ran = deploy(["--board", "rpi_pico", "--mpy", "--dry-run"], monkeypatch, capsys, dry=True)
    assert ran is None
    assert "would compile" in out and "armv6m" in out and "mpremote" in out, out


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
