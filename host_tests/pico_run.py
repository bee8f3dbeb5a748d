"""On the emulated Pico (host_tests/test_pico.py puts it in /lib): one scenario of
scenarios.py on machine.UART, as mp_run.py runs it on the unix port."""
import atmodem
import scenarios


def main(dialect, name, uart=1, baud=115200, guard_ms=1000, **kw):
    m = atmodem.Modem(atmodem.hal.open_serial(uart, baud), dialect=dialect, guard_ms=guard_ms)
    m.start()
    m.attach(apn="cmnet")
    try:
        result = scenarios.ALL[name](m, **kw)
    finally:
        m.close()
    print("PASS", result)
