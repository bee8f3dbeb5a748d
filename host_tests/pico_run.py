"""On the emulated Pico (host_tests/pico_helpers.py puts it in /lib): one scenario of
scenarios.py (or pico_scenarios.py) on machine.UART, as mp_run.py runs it on the unix port."""
import atmodem
import pico_scenarios
import scenarios


def main(dialect, name, uart=1, baud=115200, guard_ms=1000, auto_reattach=0, rxbuf=4096, **kw):
    m = atmodem.Modem(atmodem.hal.open_serial(uart, baud, rxbuf=rxbuf), dialect=dialect, guard_ms=guard_ms,
                      auto_reattach=bool(auto_reattach))
    m.start()
    m.attach(apn="cmnet")
    run = scenarios.ALL.get(name) or pico_scenarios.ALL[name]
    try:
        result = run(m, **kw)
    finally:
        m.close()
    print("PASS", result)
