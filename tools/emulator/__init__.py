"""Virtual Yuge NM28 and Fibocom L610 modules on a pseudo-terminal (see SPEC.md)."""
from .emulator import DIALECTS, Emulator
from .variants import FIRMWARE

__all__ = ["Emulator", "DIALECTS", "FIRMWARE"]
