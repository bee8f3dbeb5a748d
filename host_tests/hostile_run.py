"""Run one hostile scenario as a program of its own, under the micropython binary or CPython:
micropython host_tests/hostile_run.py <tty> <dialect> <scenario> [key=value ...]
(CPython: PYTHONPATH=lib:host_tests python host_tests/hostile_run.py ...)"""
import sys

import atmodem
import hostile_scenarios


def main(argv):
    path, dialect, name = argv[1], argv[2], argv[3]
    kw = {}
    for arg in argv[4:]:
        k, v = arg.split("=", 1)
        kw[k] = int(v) if v.lstrip("-").isdigit() else v
    fn = hostile_scenarios.ALL[name]
    if name in hostile_scenarios.OWN_MODEM:
        print("PASS", fn(None, path=path, kind=dialect, **kw))
        return
    guard = kw.pop("guard_ms", 200)
    m = atmodem.Modem(atmodem.hal.open_serial(path), dialect=dialect, guard_ms=guard)
    m.start()
    m.attach(apn="cmnet")
    try:
        result = fn(m, **kw)
    finally:
        m.close()
    print("PASS", result)


main(sys.argv)
