"""Files the archive writes whole for others to read (WACZ packages, CDXJ indexes):
written beside their target and moved into place, so a reader never sees half of one,
with the permissions any new file of the user gets."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process's umask. Linux shows it in /proc (read without changing it, so no
    other thread can create a file meanwhile under a changed umask); elsewhere it is
    read by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temp_beside(target: Path, *, prefix: str, suffix: str) -> tuple[int, str]:
    """An open temporary file in `target`'s directory, for `os.replace` onto it, with
    mode 0666 less the umask: mkstemp's own 0600 made every export and index readable
    by its writer only, whatever the umask said."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=suffix)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    except BaseException:
        os.close(fd)
        os.unlink(name)
        raise
    return fd, name
