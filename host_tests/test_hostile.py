"""The hostile-module tier: the driver against a scripted module of our own
(host_tests/hostile_module.py, not tools/emulator) that answers as real firmware does and
misbehaves on purpose. Each scenario (host_tests/hostile_scenarios.py) runs as its own
program on CPython and on the micropython binary; the test sets the module's behaviour
and, where it matters, checks what the module recorded.

    ./run test host_tests/test_hostile.py -q        (-s prints what each scenario measured)

Where the driver does not do what a user must see, the test is marked xfail(strict=True)
with the reason: it turns into a failure the day the driver does it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from host_tests.hostile_module import BOOT, MODEL, OK, HostileModule, args
from host_tests.hostile_scenarios import GBK, GOOD, pattern
from atmodem.dialects import names

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
RUNTIMES = ["cpython", "micropython"]
DIALECTS = names()
MAKER_GBK = {"nm28": "域格".encode("gbk"), "l610": "广和通".encode("gbk"), "quectel": "移远".encode("gbk")}
WAIT = b"Wait...AT command ready"  # G5X0's boot banner (docs/real-modules.md)


@pytest.fixture
def hostile():
    """Factory: hostile(dialect, **behaviour) -> HostileModule, closed after the test."""
    made = []

    def make(dialect, **behaviour):
        mod = HostileModule(dialect, **behaviour)
        made.append(mod)
        return mod

    yield make
    for mod in made:
        mod.close()


def run(mod, runtime, name, timeout=45, **kw):
    """The scenario as its own program on mod's pseudo-terminal; its PASS line."""
    path = os.path.join(ROOT, "lib") + ":" + os.path.join(ROOT, "host_tests")
    interpreter = sys.executable if runtime == "cpython" else MICROPYTHON
    argv = [interpreter, os.path.join(ROOT, "host_tests", "hostile_run.py"), mod.path, mod.dialect, name]
    argv += ["%s=%s" % kv for kv in kw.items()]
    env = {"MICROPYPATH": path + ":.frozen", "PYTHONPATH": path, "PATH": os.environ.get("PATH", "")}
    try:
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s did not finish in %d s (hung?)\nstdout: %s\nstderr: %s\nlast commands: %r"
                             % (name, timeout, e.stdout, e.stderr, mod.lines[-10:]))
    assert r.returncode == 0 and "PASS" in r.stdout, "%s%s\nlast commands: %r" % (r.stdout, r.stderr, mod.lines[-10:])
    out = r.stdout.split("PASS", 1)[1].strip()
    print("%s %s %s %r -> %s" % (runtime, mod.dialect, name, kw, out))  # what it measured (-s shows it)
    return out


def sid_of(line):
    return int(args(line)[0])


# ---------------------------------------------------------------- L610: opens that go wrong


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_open_failed_by_mipstat_is_reported_at_once(hostile, runtime):
    mod = hostile("l610")
    hook = mod.on("AT+MIPOPEN=", lambda mod, line: [(0, OK), (0.005, b"\r\n+MIPSTAT: %d,1\r\n" % sid_of(line))],
                  times=1)
    run(mod, runtime, "l610_open_stat_fails")
    assert hook.used == 1 and len(mod.commands("AT+MIPOPEN=")) == 2


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_open_whose_result_never_comes_times_out_and_closes(hostile, runtime):
    mod = hostile("l610")
    hook = mod.on("AT+MIPOPEN=", OK, times=1)  # OK, and the result never comes
    run(mod, runtime, "l610_open_never_answered", timeout=30)
    assert hook.used == 1
    first = sid_of(mod.commands("AT+MIPOPEN=")[0])
    assert b"AT+MIPCLOSE=%d" % first in mod.commands("AT+MIPCLOSE="), mod.lines


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_open_error_in_gbk_is_an_oserror_with_escapes(hostile, runtime):
    mod = hostile("l610")
    hook = mod.on("AT+MIPOPEN=", [(0, OK), (0.005, b"\r\n+CME ERROR: " + GBK + b"\r\n")], times=1)
    run(mod, runtime, "l610_open_error_gbk")
    assert hook.used == 1


@pytest.mark.parametrize("gap", [0.0, 0.05])
@pytest.mark.parametrize("mode", ["buffer", "push"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_acknowledgement_notice_mid_download_does_not_end_the_stream(hostile, runtime, mode, gap):
    """250 bytes, +MIPSTAT: <id>,0,250 (G24's acknowledgement), 250 bytes: back to back,
    or gap seconds apart (the first half read before the notice comes)."""
    data = pattern(500)

    def peer(mod, sid, got):
        if not got.startswith(b"download"):
            return mod.deliver(sid, got)
        mod.deliver(sid, data[:250])
        mod.inject(b"\r\n+MIPSTAT: %d,0,250\r\n" % sid, delay=gap)
        mod.later(2 * gap, lambda: mod.deliver(sid, data[250:]))

    mod = hostile("l610", peer=peer)
    run(mod, runtime, "l610_ack_mid_download", mode=mode)
    assert b"+MIPSTAT: 1,0,250" in mod.sent


@pytest.mark.parametrize("fails", [1, 3])
@pytest.mark.parametrize("error", [b"ERROR", b"ERROR: 148"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_dial_error_then_late_mipcall_0(hostile, runtime, error, fails):
    """AT+MIPCALL=1 answered by an error and, 0.2 s later, `+MIPCALL: 0` (G610): one failed
    dial. The driver dials again only after that line; once the dials are spent attach()
    raises, and a later attach() works. No late line is taken for a lost bearer."""
    mod = hostile("l610")
    hook = mod.on("AT+MIPCALL=1", [(0, b"\r\n" + error + b"\r\n"), (0.2, b"\r\n+MIPCALL: 0\r\n")], times=fails)
    run(mod, runtime, "l610_dial_error", fails=fails)
    assert hook.used == fails and len(mod.commands("AT+MIPCALL=1")) == fails + 1, mod.lines


# ---------------------------------------------------------------- framing


def damaged(mod, sid, kind):
    """A damaged payload for socket sid in its current format, and what the module does
    after it: (a) longer announced than sent, (b) shorter, (c) cut short by silence,
    (d) the boot banner in the middle (the module rebooted)."""
    push = not mod.holds(mod.socks[sid])
    end = b"\r\n" if push else mod.read_end()  # a push's trailer; a read answer's end
    x = b"X" * 60
    if kind == "longer":  # header 100, 60 bytes, then the next URC (push) or the OK (read)
        follow = mod.push_form(sid, b"the next payload, never delivered") if push else end
        return mod.frame(sid, 100, x) + follow, None
    if kind == "shorter":
        return mod.frame(sid, 40, x) + end, None
    if kind == "silence":
        return mod.frame(sid, 100, x), None
    assert kind == "banner"
    return mod.frame(sid, 100, x[:30]) + b"\r\n" + mod.banner + b"\r\n", lambda: mod.reboot(banner=False)


def framing_peer(kind):
    def peer(mod, sid, data):
        if not data.startswith(b"damage"):
            return mod.deliver(sid, data)
        mod.deliver(sid, GOOD)
        raw, after = damaged(mod, sid, kind)
        mod.deliver_raw(sid, raw, after)

    return peer


@pytest.mark.parametrize("kind", ["longer", "shorter", "silence"])
@pytest.mark.parametrize("mode", ["push", "buffer"])
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_damaged_payload_fails_its_socket_only(hostile, runtime, dialect, mode, kind):
    """(a) longer announced than sent, (b) shorter, (c) cut short by silence."""
    mod = hostile(dialect, peer=framing_peer(kind))
    run(mod, runtime, "framing", mode=mode, kind=kind)


@pytest.mark.parametrize("mode", ["push", "buffer"])
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_reboot_inside_a_payload_is_noticed_and_recovered_from(hostile, runtime, dialect, mode):
    """(d) the boot banner in the middle of a payload, then the module is a fresh one: the
    socket fails within 3 s after GOOD (or a prefix), m.reboots is 1, and after attach()
    a new socket works. What its error says is the next test's."""
    mod = hostile(dialect, peer=framing_peer("banner"))
    run(mod, runtime, "framing", mode=mode, kind="banner", says_reboot=0)
    assert len(mod.commands("ATE0")) == 2, "the module was not brought up again"


@pytest.mark.parametrize("mode", ["push", "buffer"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_l610_wait_banner_inside_a_payload_is_a_reboot(hostile, runtime, mode):
    """(d) with the G5X0 banner `Wait...AT command ready` (docs/real-modules.md): the same
    reboot as `AT command ready`, not a framing error that leaves m.reboots at 0."""
    mod = hostile("l610", banner=WAIT, peer=framing_peer("banner"))
    run(mod, runtime, "framing", mode=mode, kind="banner", says_reboot=1)
    assert len(mod.commands("ATE0")) == 2, "the module was not brought up again"


@pytest.mark.parametrize("dialect,banner", [("nm28", BOOT["nm28"]), ("l610", BOOT["l610"]), ("l610", WAIT),
                                            ("quectel", BOOT["quectel"])])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_reboot_between_lines_ends_the_command_in_flight(hostile, runtime, dialect, banner):
    """The banner arrives while a command that takes every line as its answer (prefix "")
    waits: the command ends at once saying the module rebooted, m.reboots is 1, and the
    module is brought up again."""
    mod = hostile(dialect, banner=banner)
    mod.on("AT+X", [(0.05, mod.reboot)])
    run(mod, runtime, "reboot_during_command")
    assert len(mod.commands("ATE0")) == 2, "the module was not brought up again"


@pytest.mark.parametrize("mode", ["push", "buffer"])
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_reboot_inside_a_payload_is_the_error_the_program_sees(hostile, runtime, dialect, mode):
    """(d): the error says the module rebooted (reset), not only that the framing failed."""
    mod = hostile(dialect, peer=framing_peer("banner"))
    run(mod, runtime, "framing", mode=mode, kind="banner", says_reboot=1)


# ---------------------------------------------------------------- text that is not UTF-8


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_model_name_in_gbk(hostile, runtime, dialect):
    mod = hostile(dialect, model=MAKER_GBK[dialect] + b" " + MODEL[dialect])
    out = run(mod, runtime, "gbk_model", model=MODEL[dialect].decode())
    assert MODEL[dialect].decode() in out


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_error_and_timed_out_answer_in_gbk(hostile, runtime, dialect):
    mod = hostile(dialect)
    mod.on("AT+X", b"\r\n+CME ERROR: " + GBK + b"\r\n")
    mod.on("AT+Y", b"\r\n+Y: " + GBK + b"\r\n")  # an answer line, then no final result
    run(mod, runtime, "gbk_texts")


# ---------------------------------------------------------------- echo that never turns off


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_module_that_keeps_echoing_after_ate0(hostile, runtime, dialect):
    mod = hostile(dialect, echo_stuck=True)
    run(mod, runtime, "echo_stuck")
    assert mod.echo and mod.commands("ATE0")


# ---------------------------------------------------------------- program input


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_program_input_is_checked_before_anything_reaches_the_module(hostile, runtime, dialect):
    mod = hostile(dialect)
    run(mod, runtime, "input_checks")
    w = bytes(mod.wrote)
    a = w.index(b"AT+MARKA\r") + len(b"AT+MARKA\r")
    b = w.index(b"AT+MARKB\r")
    assert w[a:b] == b"", "written for refused input: %r" % w[a:b]
    after = w[b + len(b"AT+MARKB\r"):]
    assert after == b"", "written after close(): %r" % after
    assert b"h" * 59 not in w and b"l" * 64 not in w
    assert b"AT+CSQ\r" in w


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_pyserial_port_the_program_opened_is_adopted(hostile, dialect):
    run(hostile(dialect), "cpython", "adopt_pyserial", model=MODEL[dialect].decode())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_timeouts_are_cpython_exception_types(hostile, dialect):
    run(hostile(dialect), "cpython", "timeout_types")


# ---------------------------------------------------------------- asyncio


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_aio_readline_on_a_non_blocking_socket_does_not_spin(hostile, runtime, dialect):
    def peer(mod, sid, data):
        if data.startswith(b"a line in a second"):
            mod.later(1.0, lambda: mod.deliver(sid, b"here is the line\n"))
        else:
            mod.deliver(sid, data)

    run(hostile(dialect, peer=peer), runtime, "aio_readline_no_spin", timeout=20)
