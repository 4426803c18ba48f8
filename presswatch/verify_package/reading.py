"""Reading an evidence package strictly, before anything in it is trusted.

A package comes from someone the reader may not trust, and different ZIP and JSON
readers disagree on ambiguous input (two members of one name, two keys of one name,
`../` paths). So a package is read in one way only, and anything ambiguous or
oversized is refused with what to fix, never guessed at (docs/evidence.md, "Reading a
package"):

- member names: each appears once, is a plain relative path of the WACZ layout, and is
  one of the files an evidence package has;
- sizes: a member at most `MAX_MEMBER_BYTES`, a JSON document at most
  `MAX_DOCUMENT_BYTES`, a small file (key, checkpoint, token) at most
  `MAX_SMALL_BYTES`, and no member that inflates more than `MAX_INFLATION` times;
- JSON: strict UTF-8, nesting at most `MAX_JSON_DEPTH`, at most `MAX_JSON_VALUES`
  values, no repeated key, no NaN.

Members are read as streams (`iter_member`), never whole, except the documents above.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from archive.errors import BadInput

MAX_MEMBERS = 10_000
MAX_MEMBER_BYTES = 4 << 30
MAX_DOCUMENT_BYTES = 16 << 20
MAX_SMALL_BYTES = 64 << 10
MAX_JSON_DEPTH = 64
MAX_JSON_VALUES = 1_000_000
# A member that inflates more than this many times (beyond 1 MiB) is a zip bomb: our
# WARC files are stored uncompressed and JSON deflates about 5 to 10 times.
MAX_INFLATION = 200
CHUNK = 1 << 20

MANIFEST = "evidence/manifest.json"
PROOFS = "evidence/proofs.json"
CHECKPOINT = "evidence/checkpoint.txt"
KEY = "evidence/log-key.txt"
TIMESTAMP = "evidence/checkpoint.tsr"
DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
INDEX = "indexes/index.cdx"
PAGES = "pages/pages.jsonl"
WARC_PREFIX = "archive/"
CASE_MANIFEST = "case/manifest.json"
CASE_PROOFS = "case/proofs.json"
_CASE_ARTICLE = re.compile(r"case/article-[0-9]{1,18}\.wacz")

_KNOWN = {MANIFEST, PROOFS, CHECKPOINT, KEY, TIMESTAMP, DATAPACKAGE, DIGEST, INDEX, PAGES}
_WARC_NAME = re.compile(r"archive/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.warc(\.gz)?")
_SAFE_PART = re.compile(r"[A-Za-z0-9._-]+")


class Unreadable(BadInput):
    """The file is not an evidence package that can be read at all (exit 2)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A member the package must not have: what and why (the package fails)."""

    reason: str
    name: str
    problem: str


def name_problem(name: str) -> str | None:
    """Why `name` is not a safe member name of a package, or None."""
    if not name or len(name) > 255:
        return "an empty or over-long member name"
    if "\\" in name or "\x00" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "a member name with a backslash or a control character"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "an absolute member name"
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "a member name with an empty, '.' or '..' part"
    if not all(_SAFE_PART.fullmatch(p) for p in parts):
        return "a member name with characters outside A-Z a-z 0-9 . _ -"
    return None


def is_known_member(name: str) -> bool:
    return (
        name in _KNOWN
        or name in (CASE_MANIFEST, CASE_PROOFS)
        or _WARC_NAME.fullmatch(name) is not None
        or _CASE_ARTICLE.fullmatch(name) is not None
    )


def _check_shape(data: bytes, where: str) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH or more than MAX_JSON_VALUES values, in
    one linear pass before parsing: json.loads recurses per level (200,000 '[' end in a
    RecursionError), and 16 MiB of `{},` would be millions of objects in memory."""
    depth = values = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            values += 1
            if depth > MAX_JSON_DEPTH:
                raise Unreadable(
                    f"{where}: JSON nested deeper than {MAX_JSON_DEPTH} levels; "
                    "a Presswatch document never is"
                )
        elif byte in (0x5D, 0x7D):
            depth -= 1
        elif byte in (0x2C, 0x3A):  # , : (each starts one more value)
            values += 1
            if values > MAX_JSON_VALUES:
                raise Unreadable(
                    f"{where}: more than {MAX_JSON_VALUES} JSON values; a Presswatch "
                    "document has fewer"
                )


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes, where: str) -> Any:
    """A JSON document read one way only; Unreadable says where and what is wrong."""
    _check_shape(data, where)
    try:
        text = data.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unreadable(f"{where}: not valid JSON ({exc})") from exc


class PackageFiles:
    """The members of a package's ZIP, checked by name and size when opened."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.refusals: list[Refusal] = []
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Unreadable(f"{len(infos)} members: a package has at most {MAX_MEMBERS}")
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if name in self.infos:
                # Readers disagree on which of the two they show: neither is trusted.
                self.refuse("duplicate-member", name, "the package has two members of this name")
                continue
            problem = name_problem(name.rstrip("/") if info.is_dir() else name)
            if problem:
                self.refuse("unsafe-name", name, problem)
                continue
            self.infos[name] = info
            if info.is_dir():
                continue
            if not is_known_member(name):
                self.refuse("unexpected-member", name, "not a file an evidence package has")
            elif info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self.refuse("unreadable-member", name, "compressed with an unsupported method")
            elif info.flag_bits & 0x1:
                self.refuse("unreadable-member", name, "encrypted")
            elif info.file_size > MAX_MEMBER_BYTES:
                self.refuse("oversized-member", name, f"larger than {MAX_MEMBER_BYTES} bytes")
            elif info.file_size > 1 << 20 and info.file_size > MAX_INFLATION * max(
                info.compress_size, 1
            ):
                self.refuse(
                    "oversized-member",
                    name,
                    f"inflates {info.file_size // max(info.compress_size, 1)} times "
                    f"(at most {MAX_INFLATION}): a zip bomb",
                )
        self.names = {n for n, i in self.infos.items() if not i.is_dir()}

    def refuse(self, reason: str, name: str, problem: str) -> None:
        self.refusals.append(Refusal(reason, name, problem))

    def size(self, name: str) -> int:
        return self.infos[name].file_size

    def read_small(self, name: str, limit: int) -> bytes | None:
        """A member whole, when it exists and is at most `limit` bytes."""
        if name not in self.names:
            return None
        if self.size(name) > limit:
            raise Unreadable(f"{name} is {self.size(name)} bytes; at most {limit} are read")
        try:
            with self.zf.open(name) as fh:
                return fh.read(limit + 1)[:limit]
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise Unreadable(f"{name} cannot be read from the zip: {exc}") from exc

    def read_json(self, name: str) -> Any:
        data = self.read_small(name, MAX_DOCUMENT_BYTES)
        if data is None:
            return None
        return parse_json(data, name)

    def iter_member(self, name: str) -> Iterator[bytes]:
        """The member's bytes in chunks; a damaged member raises zipfile.BadZipFile or
        OSError (its CRC is checked at its end)."""
        with self.zf.open(name) as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
