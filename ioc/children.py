"""What every supervisor asks of its child processes: to die with the parent that started them."""

from __future__ import annotations

import contextlib
import ctypes
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGTERM this (child) process when its parent dies; a `preexec_fn` for Popen."""
    # Linux only: a child of a killed supervisor or test run must not live on holding ports and memory.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
