"""Calls that tests/test_helper_pool.py makes in real helper processes. A module of its
own that imports nothing heavy: each new helper imports it to find the function it is
handed, and the culprit search starts a helper per suspect."""

from __future__ import annotations

import os
import signal
import time

POISON = "poison"


def work(value: str, delay_s: float = 0.3) -> str:
    """The poisoned value kills its own process (as a page that crashes the parser
    would); every other value comes back after `delay_s`."""
    if value == POISON:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(delay_s)  # stays in flight while the test or a poisoned call kills a worker
    return value.upper()


def pid() -> int:
    return os.getpid()


def allocate(mib: int) -> int:
    return len(bytearray(mib * 1024 * 1024))
