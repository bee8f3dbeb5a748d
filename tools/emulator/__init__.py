"""Virtual Yuge NM28 and Fibocom L610 modules on a pseudo-terminal (docs/nm28.md, docs/l610.md)."""
from .emulator import DIALECTS, Emulator
from .variants import FIRMWARE

__all__ = ["Emulator", "DIALECTS", "FIRMWARE"]
