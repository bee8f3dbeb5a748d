"""The emulator's settings: timings, host-facing options and the firmware variant."""
from __future__ import annotations

from typing import Optional, Union


class Config:
    """Timings and host-facing settings; every delay is near zero by default."""

    def __init__(self, **kw):
        self.boot_delay = 0.0  # power-on to first answer
        self.sim_delay = 0.0  # boot to SIM ready (AT+CPIN? answers ERROR before)
        self.reg_delay = 0.0  # SIM ready to registered
        self.sim_pin: Optional[str] = None  # the PIN the SIM asks for after power-on (3GPP 27.007 +CPIN)
        self.async_delay = 0.01  # OK of an async command to its result URC
        self.connect_timeout = 10.0
        self.guard_time = 1.0  # `+++` guard silence, seconds
        self.payload_timeout = 12.0  # a send prompt gives up waiting for bytes
        self.send_buffer = 2048  # module send buffer per socket (L610 <free>)
        self.send_wait = 0.5  # NM28: how long a send waits for room before SEND FAIL
        self.cert_dir: Optional[str] = None
        self.listen_host = "127.0.0.1"  # where "0.0.0.0" listeners really bind
        self.local_ip = "10.166.80.147"
        # Firmware forms (tools/emulator/variants.py): the variant, then orthogonal quirks.
        self.firmware = "manual"  # a name in variants.FIRMWARE[dialect]
        self.push_trailer = True  # False: pushed data is not followed by CR LF
        self.echo_sticks = False  # True: ATE0 answers OK and echo stays on
        self.model: Optional[Union[bytes, str]] = None  # AT+CGMM / ATI model line, raw bytes
        for k, v in kw.items():
            if not hasattr(self, k):
                raise TypeError("unknown emulator setting %r" % k)
            setattr(self, k, v)
