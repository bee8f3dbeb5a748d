"""The host helpers: native .mpy builds, the demo's command line."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from atmodem.dialects import load, names
from tools import build_mpy
from tools.demo import MODES

ROOT = build_mpy.ROOT


def test_native_architectures_compile(tmp_path):
    for arch in ("xtensawin", "armv6m"):
        sizes = build_mpy.build(str(tmp_path / arch), arch, skip=build_mpy.BOARD_SKIP)
        assert sizes and all(v > 0 for v in sizes.values())


@pytest.mark.parametrize("args,says", [
    (["--echo", "nope"], "--echo"),
    (["--echo", "host:abc"], "--echo"),
    (["--echo", "host:70000"], "--echo"),
    (["--size", "-5"], "--size"),
    (["--baud", "0"], "--baud"),
    (["--port", "/dev/atmodem-no-such-port"], "/dev/atmodem-no-such-port"),
])
def test_demo_answers_bad_arguments_without_a_traceback(args, says):
    r = subprocess.run([sys.executable, "-m", "tools.demo", "--quiet"] + args,
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode != 0 and says in r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr


def test_demo_help_promises_no_echo_server_for_a_real_module():
    r = subprocess.run([sys.executable, "-m", "tools.demo", "--help"], capture_output=True, text=True, cwd=ROOT)
    echo_help = " ".join(r.stdout.split("  --echo", 1)[1].split("  --baud")[0].split())
    assert "default: a loopback one" not in echo_help and "--port" in echo_help, echo_help


def test_manifest_freezes_every_board_file():
    """manifest.py (for freezing) names every file of lib/atmodem a board imports: a new
    module left out would be missing from a frozen firmware."""
    calls = {}

    def package(name, files=(), base_path=".", opt=None):
        calls[name] = (sorted(files), base_path)

    def metadata(**kw):
        calls["metadata"] = kw

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(root, "manifest.py")) as f:
        exec(f.read(), {"package": package, "metadata": metadata})
    files, base = calls["atmodem"]
    lib = os.path.join(root, base, "atmodem")
    want = sorted(os.path.relpath(os.path.join(d, f), lib).replace(os.sep, "/")
                  for d, _, fs in os.walk(lib) for f in fs if f.endswith(".py"))
    want = [f for f in want if f not in ("hal/pyserial_port.py", "errors_cpython.py", "hal/unix_port.py")]
    assert files == want
    with open(os.path.join(lib, "__init__.py")) as f:
        assert '__version__ = "%s"' % calls["metadata"]["version"] in f.read()


def _demo_output(emulator, echo_server, dialect: str, size: int = 4096, verbose: bool = False) -> str:
    """The demo's run() against an emulator and a loopback echo server, its output."""
    import io
    from tools import demo

    emu = emulator(dialect, baud=115200)  # as the demo runs it: the line paced at 115200 baud
    out = io.StringIO()
    more = {"verbose": True} if verbose else {}
    demo.run(emu.path, None, "cmnet", ("127.0.0.1", echo_server.port), size, 115200, False, out=out, **more)
    return out.getvalue()


def _section(text: str, mode: str) -> str:
    return text[text.index("== %s mode: open" % mode):text.index("   round trip:", text.index("== %s mode: open" % mode))]


@pytest.mark.parametrize("dialect", ["nm28", "l610"])
def test_demo_reports_each_direction_of_the_line(emulator, echo_server, dialect):
    """Issue 18: no "% of the 115200 baud line" for both directions together; up and down
    each against that direction's 11520 B/s, and the round trip."""
    out = _demo_output(emulator, echo_server, dialect)
    assert "both directions" not in out and "% of the 115200 baud line" not in out, out
    for mode in ("push", "hex", "buffer", "transparent"):
        s = out[out.index("== %s mode: echo intact" % mode):]
        lines = s.split("\n")[:4]
        assert "11520 B/s at 115200 baud" in lines[0], lines
        assert lines[1].startswith("   up   (host -> module): 4096 bytes") and "% of the line up" in lines[1], lines
        assert lines[2].startswith("   down (module -> host): 4096 bytes received in") and "% of the line down" in lines[2], lines
        assert lines[3].startswith("   round trip: the first echoed bytes back after"), lines
        found = re.search(r"(\d+) B/s, (\d+)% of the line down", lines[2])
        assert found is not None, lines[2]
        rate, pct = found.groups()
        assert abs(int(pct) - 100 * int(rate) / 11520) <= 1, lines[2]


@pytest.mark.parametrize("dialect,shows", [
    ("nm28", {"push": ["host -> AT+IPSEND=0,1460", "host -> <1460 bytes>", 'module< +IPURC: "recv",0,'],
              "hex": ['host -> AT+IPSENDEX=0,"<1024 bytes as hex>"'],
              "buffer": ["host -> AT+IPSEND=0,", "host -> AT+IPRD=0,1500", "module< +IPRD: 0,"],
              "transparent": ["host -> <", "module< <"]}),
    ("l610", {"push": ["host -> AT+MIPSEND=1,2048", "host -> <2048 bytes>", "module< +MIPRTCP: 1,1460,<1460 bytes>"],
              "hex": ["module< +MIPRTCP: 1,436,<1024 bytes as hex>"],
              "buffer": ["host -> AT+MIPREAD=1,2048", "module< +MIPDATA: 1,"],
              "transparent": ["host -> <", "module< <"]}),
])
def test_demo_shows_the_data_exchanges_abbreviated(emulator, echo_server, dialect, shows):
    """Issue 18: the transcript shows the send and read commands, their answers and the
    payloads as <N bytes>; no binary, no long lines, and an echo's bulk is cut short."""
    out = _demo_output(emulator, echo_server, dialect, size=8192)
    for mode, wanted in shows.items():
        section = _section(out, mode)
        for w in wanted:
            assert w in section, (w, section)
        assert len(section.split("\n")) < 40, section
    for line in out.split("\n"):
        assert all(32 <= ord(c) < 127 for c in line), repr(line)
        assert len(line) < 220, line
    assert "more lines not shown" in out and "--verbose" in out, out
    full = _demo_output(emulator, echo_server, dialect, size=8192, verbose=True)
    assert "more lines not shown" not in full and len(full.split("\n")) > len(out.split("\n")), full


@pytest.mark.parametrize("dialect,close", [("nm28", "AT+IPCLOSE=0"), ("l610", "AT+MIPCLOSE=1")])
def test_demo_prints_the_escape_on_its_own_line(emulator, echo_server, dialect, close):
    out = _demo_output(emulator, echo_server, dialect, size=2048)
    lines = _section(out, "transparent").split("\n")
    assert "   host -> +++" in lines, lines
    assert "   host -> %s" % close in lines, lines
    assert not any("+++AT" in ln for ln in lines), lines


def test_demo_command_runs_set_up_free():
    """`./run demo` as a newcomer types it: the emulator, both dialects, the loopback echo."""
    r = subprocess.run([sys.executable, "-m", "tools.demo", "--size", "2048"], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("NM28", "L610"):
        assert "virtual %s" % name in r.stdout
    modes = sum(len([m for m in MODES if m in load(d).MODES]) for d in names())  # every mode of every module
    assert r.stdout.count("echo intact") == modes and "host -> +++" in r.stdout, r.stdout


def _stock_board(tmp_path):
    stock = tmp_path / "mp" / "ports" / "rp2" / "boards" / "RPI_PICO"
    stock.mkdir(parents=True)
    (stock / "mpconfigboard.h").write_text('#define MICROPY_HW_BOARD_NAME "Raspberry Pi Pico"\n')
    (stock / "mpconfigboard.cmake").write_text('set(PICO_BOARD "pico")\n')
    (stock / "pins.csv").write_text("LED,GPIO25\n")
    return str(tmp_path / "mp")


@pytest.mark.parametrize("variant, frozen, tls", [("frozen", True, False), ("tls", False, True), ("frozen-tls", True, True)])
def test_firmware_variants_are_the_stock_board_plus_what_they_name(tmp_path, variant, frozen, tls):
    """tools/pico/firmware.py: each variant keeps the RPI_PICO board (pins, flash layout) and
    adds the repository's manifest.py (frozen) or MicroPython's tls (tls), nothing else."""
    from tools.pico import firmware

    board = firmware.board_dir(_stock_board(tmp_path), variant, str(tmp_path / "out"))
    names_ = sorted(os.listdir(board))
    assert names_ == sorted(["mpconfigboard.h", "mpconfigboard.cmake", "pins.csv"] + (["manifest.py"] if frozen else []))
    with open(os.path.join(board, "mpconfigboard.h")) as f:
        header = f.read()
    assert ("#define MICROPY_PY_SSL (1)" in header) == tls
    assert '"Raspberry Pi Pico (atmodem %s)"' % variant in header
    if frozen:
        with open(os.path.join(board, "manifest.py")) as f:
            manifest = f.read()
        assert 'include("$(PORT_DIR)/boards/manifest.py")' in manifest  # the stock board's frozen modules
        assert os.path.join(ROOT, "manifest.py") in manifest


def test_firmware_build_names_what_the_tree_lacks(tmp_path):
    from tools.pico import firmware

    with pytest.raises(FileNotFoundError, match="lib/pico-sdk/pico_sdk_init.cmake.*mpy-cross"):
        firmware.build(_stock_board(tmp_path), "frozen", str(tmp_path / "out"))


def test_bench_pico_profile_reaches_the_deepest_chains(capsys):
    """`tools.bench_pico --profile` wraps every atmodem function, which doubles each call's
    stack on the Pico: a read's header (default mode) and a hold (push) once ran out of it
    (RuntimeError: maximum recursion depth exceeded). Both profile, with functions listed."""
    from tools import bench_pico

    bench_pico.profile(8, cases=(("nm28", "default"), ("l610", "push")), top=3)
    out = capsys.readouterr().out
    for case in ("nm28 default", "l610 push"):
        section = out.split("profile: %s download" % case, 1)[1].split("\nprofile:", 1)[0]
        assert "MachineUART.readinto" in section and len(section.strip().split("\n")) == 5, section
