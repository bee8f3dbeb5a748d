"""asyncio: three connections at once through one module, each its own task, while a fourth
task keeps running. atmodem's runner reads the UART in one task; commands from the tasks go
to the module one at a time.

    python examples/asyncio_echo.py /dev/ttyUSB0 tcpbin.com 4242"""
import sys

try:
    import asyncio
except ImportError:  # older MicroPython
    import uasyncio as asyncio

import atmodem
from atmodem import aio

# Your set-up; the command line overrides them: PORT [ECHO_HOST [ECHO_PORT]].
PORT = "/dev/ttyUSB0"  # a serial device or pyserial URL; on a board: open_serial(1, tx=4, rx=5)
APN = "cmnet"  # your operator's APN
ECHO_HOST, ECHO_PORT = "tcpbin.com", 4242  # a TCP echo server

args = sys.argv[1:]
PORT = args[0] if len(args) > 0 else PORT
ECHO_HOST = args[1] if len(args) > 1 else ECHO_HOST
ECHO_PORT = int(args[2]) if len(args) > 2 else ECHO_PORT


async def echo(am, n):
    reader, writer = await am.open_connection(ECHO_HOST, ECHO_PORT)
    line = b"hello from task %d\n" % n
    writer.write(line)
    await writer.drain()
    got = await reader.readline()
    writer.close()
    await writer.wait_closed()
    print("task %d: %s" % (n, "echoed" if got == line else "got %r" % got))


async def ticker(stop):
    ticks = 0
    while not stop.is_set():
        await asyncio.sleep(0.1)
        ticks += 1
    print("ticker ran %d times meanwhile" % ticks)


async def main():
    modem = atmodem.Modem(atmodem.hal.open_serial(PORT, baudrate=115200))
    am = aio.start(modem)
    print("module:", await am.start())
    print("address:", await am.attach(apn=APN))
    stop = asyncio.Event()
    tick = asyncio.create_task(ticker(stop))
    await asyncio.gather(echo(am, 1), echo(am, 2), echo(am, 3))
    stop.set()
    await tick
    await am.close()


asyncio.run(main())
