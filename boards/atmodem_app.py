"""The example every board runs: power the module on, attach, open a socket, send, read the
echo. main.py on each board is `import config, atmodem_app; atmodem_app.main(config)`.
A site_config.py next to it (optional) overrides any of config.py's settings (HOST, PORT,
APN, FLOW, ...) without editing config.py."""
import machine

import atmodem
from atmodem.hal.pins import Power


def load_site_config(config):
    try:
        import site_config
    except ImportError:
        return
    for name in dir(site_config):
        if name.isupper():
            setattr(config, name, getattr(site_config, name))


def open_uart(config):
    kw = {"tx": config.TX, "rx": config.RX, "rxbuf": config.RXBUF}
    if getattr(config, "FLOW", False):
        # Hardware flow control. In transparent mode (and in push mode once the socket's
        # ring is full) atmodem stops reading the UART while the program does not read:
        # that is how back-pressure reaches the module. The module keeps sending, and the
        # UART's receive buffer (RXBUF) fills in milliseconds at 921600 baud. Without RTS/CTS
        # the UART then drops bytes; with it, the UART lowers RTS when its buffer is nearly
        # full and the module pauses until the program reads again. CTS does the same for
        # our sends when the module's buffer is full. The module must honour RTS too.
        kw["flow"] = machine.UART.RTS | machine.UART.CTS
        kw["rts"] = machine.Pin(config.RTS)
        kw["cts"] = machine.Pin(config.CTS)
    return atmodem.hal.open_serial(config.UART_ID, config.BAUD, **kw)


def answer_time(modem):
    """Seconds a running module may take to answer modem.start() (atmodem.power.answer_ms:
    three ATs, then the blind escape of a data session the previous program may have left
    behind, then AT again; 6.12 s with the default 1 s guard): only silence for that long
    means the module is off."""
    from atmodem.power import answer_ms

    return answer_ms(modem) / 1000


def switch_on(modem):
    """The module may be on already (the board was reset, not the module), even in a data
    session: a key press would then switch it off on many modules, so ask first, for as
    long as start() needs to get a running module out of a data session, and press only
    when nothing answered in that time. Returns the model."""
    try:
        return modem.start(timeout=answer_time(modem))
    except atmodem.ModemError as err:
        if err.errno != 110:  # ETIMEDOUT: nothing answered AT, nor the +++ escape
            raise
    print("module: no answer to AT, pressing the power key")
    modem.power_on(ask=False)  # key pulse (we asked already), then AT until the module answers
    return modem.model


def main(config):
    load_site_config(config)
    power = Power(power_key=machine.Pin(config.POWER_KEY, machine.Pin.OUT),
                  reset=machine.Pin(config.RESET, machine.Pin.OUT))
    modem = atmodem.Modem(open_uart(config), dialect=config.DIALECT, power=power, auto_reattach=True)
    print("module:", switch_on(modem))
    print("attached, address", modem.attach(apn=config.APN, progress=lambda step: print("  attach:", step)))
    s = modem.socket(atmodem.SOCK_STREAM)
    s.settimeout(30)
    s.connect((config.HOST, config.PORT))
    s.write(b"hello from atmodem\n")
    print("echo:", s.readline())
    s.close()
    modem.close()
