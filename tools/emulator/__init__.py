"""Virtual Yuge NM28 and Fibocom L610 modules on a pseudo-terminal (see SPEC.md)."""
from .emulator import DIALECTS, Emulator

__all__ = ["Emulator", "DIALECTS"]
