"""A free-space floor for the disks the archive writes to.

Owns one question: is there still room to write? A crawl on a full disk must stop
cleanly with a clear error instead of leaving torn WARC records, zero-byte state files
and a database that fails mid-transaction. `SpaceFloor.check()` raises `DiskFull` when
any watched directory's file system has less than `min_free_bytes` free (plus what the
caller is about to write). The WARC store checks before every record; the crawl checks
before it starts and while it runs.

Knows nothing of settings: the composition root passes the floor and the directories.
The free-space function is injectable so tests can pretend a disk is full.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from archive.errors import DiskFull

__all__ = ["SpaceFloor", "free_bytes", "format_bytes"]


def free_bytes(path: Path) -> int:
    """Bytes an unprivileged process may still write on the file system holding `path`
    (the nearest existing ancestor, so a data dir not made yet is measured where it
    will be)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    stat = os.statvfs(probe)
    return stat.f_bavail * stat.f_frsize


def format_bytes(n: int) -> str:
    """`512 MB`, `3.2 GB`, `800 kB`: decimal units, as `df -H` prints them."""
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if abs(n) >= size:
            value = n / size
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    return f"{n} bytes"


def _distinct_devices(paths: Iterable[Path]) -> tuple[Path, ...]:
    """One directory per file system: statvfs on two dirs of one disk says the same."""
    seen: set[int] = set()
    out: list[Path] = []
    for path in paths:
        probe = path
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        try:
            device = probe.stat().st_dev
        except OSError:
            out.append(path)
            continue
        if device not in seen:
            seen.add(device)
            out.append(path)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class SpaceFloor:
    """Refuse writes that would leave less than `min_free_bytes` free on the file system
    of any of `paths`; `min_free_bytes = 0` turns the check off. `setting` names the
    knob in the error message (the composition root knows what operators call it)."""

    min_free_bytes: int
    paths: tuple[Path, ...]
    free: Callable[[Path], int] = free_bytes
    setting: str = "min_free_bytes"
    _watched: tuple[Path, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "_watched", _distinct_devices(self.paths))

    @property
    def enabled(self) -> bool:
        return self.min_free_bytes > 0

    def check(self, incoming: int = 0) -> None:
        """Raise `DiskFull` if writing `incoming` more bytes would cross the floor."""
        if not self.enabled:
            return
        for path in self._watched:
            try:
                available = self.free(path)
            except OSError:
                continue  # cannot measure (a vanished mount): the write itself will tell
            if available - incoming < self.min_free_bytes:
                raise DiskFull(
                    f"disk full: {format_bytes(available)} free on the disk holding {path}, "
                    f"below the floor of {format_bytes(self.min_free_bytes)} "
                    f"({self.setting}); nothing half-written was kept. Free some space "
                    "(or lower the floor) and run again: the next run continues where "
                    "this one stopped"
                )
