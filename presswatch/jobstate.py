"""Crash-only crawl state: Scrapy's JOBDIR checked before a crawl, our own files written
atomically.

Scrapy writes its JOBDIR files in place (`spider.state` pickle, `requests.seen`,
`requests.queue/active.json` and the disk queues beside it), so a crash or a full disk
can leave them empty or torn, and Scrapy then fails on every later start ("Expecting
value"). `job_dir_problems` reads each file the way Scrapy will, without changing
anything, and names what is unreadable; the caller discards the whole directory (the
queue, the seen fingerprints and the state only make sense together: keeping
`requests.seen` without its queue would hide the dropped requests for good) and the
crawl goes on, since the archive knows what was recorded.

What Presswatch writes itself goes through `write_atomic`: a temp file in the same
directory, fsync, rename, so a reader sees the old content or the new, never a part.

Why hand-written: Scrapy and queuelib have no "validate" entry point, and opening their
queues to test them writes headers and unlinks files; these checks only read.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import struct
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["job_dir_problems", "write_atomic"]

# Formats of the files, as scrapy.dupefilters, scrapy.core.scheduler and queuelib write them.
_SEEN_SIZE = 2  # requests.seen: 2-byte big-endian length, then the fingerprint
_MAX_FINGERPRINT = 64
_LIFO_SIZE = struct.Struct(">L")  # LifoDiskQueue: count header; records end with a length
_FIFO_SIZE = struct.Struct(">L")  # FifoDiskQueue chunks: length, then the record
_FIFO_CHUNK = re.compile(r"q\d{5}")
_ALLOWED_GLOBALS = {("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta")}


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once (temp file, fsync, rename, fsync dir)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # the rename is durable once the dir is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


class _StateUnpickler(pickle.Unpickler):
    """Loads plain data only: checking a file must never run code it names."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _check_spider_state(path: Path) -> str | None:
    try:
        with path.open("rb") as fh:
            state = _StateUnpickler(fh).load()
    except Exception as exc:  # boundary: any failure means "unreadable"
        return f"{path.name} is unreadable ({type(exc).__name__}: {exc or 'empty file'})"
    if not isinstance(state, dict):
        return f"{path.name} holds a {type(state).__name__}, not a dict"
    return None


def _check_seen(path: Path) -> str | None:
    data = path.read_bytes()
    pos = 0
    while pos < len(data):
        if pos + _SEEN_SIZE > len(data):
            return f"{path.name} ends inside a length prefix at byte {pos}"
        size = int.from_bytes(data[pos : pos + _SEEN_SIZE], "big")
        if not 0 < size <= _MAX_FINGERPRINT:
            return f"{path.name} has a fingerprint of {size} bytes at byte {pos}"
        pos += _SEEN_SIZE + size
        if pos > len(data):
            return f"{path.name} ends inside a fingerprint (torn write)"
    return None


def _check_lifo(path: Path) -> str | None:
    data = path.read_bytes()
    if len(data) < _LIFO_SIZE.size:
        return f"{path} has no queue header ({len(data)} bytes)"
    (count,) = _LIFO_SIZE.unpack_from(data, 0)
    end = len(data)
    for _ in range(count):
        if end - _LIFO_SIZE.size < _LIFO_SIZE.size:
            return f"{path} holds fewer requests than its header says ({count})"
        (size,) = _LIFO_SIZE.unpack_from(data, end - _LIFO_SIZE.size)
        end -= _LIFO_SIZE.size + size
        if end < _LIFO_SIZE.size:
            return f"{path} has a request longer than the file"
    if end != _LIFO_SIZE.size:
        return f"{path} does not match its header ({count} requests, {end - 4} stray bytes)"
    return None


def _check_fifo(directory: Path) -> str | None:
    info_path = directory / "info.json"
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        chunksize, size = int(info["chunksize"]), int(info["size"])
        head = [int(x) for x in info["head"]]
        tail = [int(x) for x in info["tail"]]
    except Exception as exc:  # boundary: any failure means "unreadable"
        return f"{info_path} is unreadable ({type(exc).__name__}: {exc or 'empty file'})"
    if chunksize <= 0 or size < 0 or len(head) != 2 or len(tail) != 3:
        return f"{info_path} has impossible values"
    for chunk in sorted(directory.glob("q[0-9]*")):
        data = chunk.read_bytes()
        pos = 0
        while pos < len(data):
            if pos + _FIFO_SIZE.size > len(data):
                return f"{chunk} ends inside a length prefix (torn write)"
            (length,) = _FIFO_SIZE.unpack_from(data, pos)
            pos += _FIFO_SIZE.size + length
            if pos > len(data):
                return f"{chunk} ends inside a request (torn write)"
    return None


def _check_queue(queue_dir: Path) -> list[str]:
    problems: list[str] = []
    active = queue_dir / "active.json"
    if active.exists():
        try:
            state = json.loads(active.read_text(encoding="utf-8"))
        except Exception as exc:  # boundary: any failure means "unreadable"
            return [f"{active} is unreadable ({type(exc).__name__}: {exc or 'empty file'})"]
        # DownloaderAwarePriorityQueue: {slot: [priority, ...]}; ScrapyPriorityQueue: [...]
        slots = state.values() if isinstance(state, dict) else [state]
        if not all(
            isinstance(prios, list) and all(isinstance(p, int) for p in prios) for prios in slots
        ):
            return [f"{active} does not hold a queue state"]
    for path in sorted(queue_dir.rglob("*")):
        problem = None
        if path.is_dir() and (path / "info.json").exists():
            problem = _check_fifo(path)
        elif path.is_file() and path.name != "active.json":
            if _FIFO_CHUNK.fullmatch(path.name) or path.name == "info.json":
                if not (path.parent / "info.json").exists():
                    problem = f"{path} belongs to a queue whose info.json is missing"
            else:  # LIFO queue files are named by priority: "0", "-1"...
                problem = _check_lifo(path)
        if problem:
            problems.append(problem)
    return problems


def job_dir_problems(path: Path) -> list[str]:
    """What Scrapy could not read in the JOBDIR `path` (empty when all is well or the
    directory does not exist). Reads only."""
    if not path.is_dir():
        return []
    problems: list[str] = []
    try:
        state = path / "spider.state"
        if state.exists():
            problem = _check_spider_state(state)
            if problem:
                problems.append(problem)
        seen = path / "requests.seen"
        if seen.exists():
            problem = _check_seen(seen)
            if problem:
                problems.append(problem)
        queue = path / "requests.queue"
        if queue.is_dir():
            problems.extend(_check_queue(queue))
    except OSError as exc:
        problems.append(f"cannot read {path}: {exc}")
    return problems
