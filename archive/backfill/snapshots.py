"""What public web archives say about an outlet, as pure data: their index answers
parsed, their timestamps read, and the coverage of an article's snapshots measured.

Two formats, both written by people we do not control and so read as hostile:

- the Wayback Machine's CDX server answer (`/cdx/search/cdx`): a JSON array whose first
  row names the fields, one JSON object per line (pywb's `output=json`), or the plain
  form, one snapshot per line with space-separated fields in the order asked for
  (`fl=`); after the rows, with `showResumeKey=true`, an empty row or line and then the
  key that continues the query;
- a Memento TimeMap in link format (RFC 7089 section 5, RFC 6690): `<uri>; rel="memento";
  datetime="Tue, 14 Feb 2023 10:11:12 GMT"` entries separated by commas, which also occur
  inside quoted datetimes, so the split must respect quotes and angle brackets.

A line or entry that cannot be read is reported with its number and kept out; the rest
of the answer is used. The URL that asks for one CDX page is built here too
(`cdx_query`); fetching lives in `presswatch.backfill`, recording is
`record_capture`'s. Nothing here touches the network, the clock or the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import lxml.html

from archive.content.normalize import url_has_forbidden_chars

__all__ = [
    "CDX_FIELDS",
    "CdxPage",
    "Coverage",
    "Snapshot",
    "TimeMap",
    "cdx_query",
    "coverage_of",
    "links_in_snapshot",
    "original_of_replay",
    "parse_cdx",
    "parse_timemap",
    "snapshot_key",
    "wayback_timestamp",
    "wayback_time",
]

# The CDX fields we ask for (`fl=`), in this order, as the CDX server documents them.
CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
MAX_PROBLEMS = 50  # problems kept per answer; a wholly broken answer says so once more
CDX_PAGE = 1000  # rows asked per CDX request (`limit`); the server may send fewer


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One capture held by a web archive: the original URL, when the archive took it,
    and what its index says (status, type, digest) before we fetch a byte of it."""

    original: str
    timestamp: str  # 14 digits, yyyyMMddhhmmss, UTC
    status: str | None = None  # as indexed: "200", "404", "-" for a revisit…
    mimetype: str | None = None
    digest: str | None = None
    memento_url: str | None = None  # Memento archives name each snapshot's URL

    @property
    def at(self) -> datetime:
        return wayback_time(self.timestamp)

    @property
    def status_code(self) -> int | None:
        return int(self.status) if self.status and self.status.isdigit() else None


@dataclass(slots=True)
class CdxPage:
    snapshots: list[Snapshot] = field(default_factory=list)
    resume_key: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TimeMap:
    snapshots: list[Snapshot] = field(default_factory=list)
    # Further pages of a paged TimeMap (rel="timemap" links other than this one).
    more: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def wayback_time(timestamp: str) -> datetime:
    """A Wayback timestamp (1 to 14 digits, missing parts as their lowest value) as an
    aware UTC datetime; ValueError when it is not one."""
    if not timestamp.isdigit() or not 4 <= len(timestamp) <= 14:
        raise ValueError(f"{timestamp[:40]!r} is not a Wayback timestamp (yyyyMMddhhmmss)")
    padded = timestamp + "0101000000"[len(timestamp) - 4 :] if len(timestamp) < 14 else timestamp
    return datetime.strptime(padded, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def wayback_timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def snapshot_key(archive: str, snapshot: Snapshot) -> str:
    """Identity of one snapshot in one archive: what a rerun recognises as done."""
    text = "\n".join((archive, snapshot.original, snapshot.timestamp))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cdx_query(
    base: str, url: str, since: datetime | None, until: datetime | None, resume: str | None
) -> str:
    """The CDX server's URL for one page of the snapshots under `url` (prefix match,
    2xx-4xx, adjacent duplicates collapsed on digest), continuing at `resume`."""
    params: list[tuple[str, str]] = [
        ("url", url),
        ("matchType", "prefix"),
        ("output", "json"),
        ("fl", ",".join(CDX_FIELDS)),
        ("filter", "statuscode:[234].."),
        ("collapse", "digest"),
        ("showResumeKey", "true"),
        ("limit", str(CDX_PAGE)),
    ]
    if since is not None:
        params.append(("from", wayback_timestamp(since)))
    if until is not None:
        params.append(("to", wayback_timestamp(until)))
    if resume is not None:
        params.append(("resumeKey", resume))
    return f"{base}/cdx/search/cdx?{urlencode(params)}"


def _snapshot(values: dict[str, Any], where: str) -> Snapshot | str:
    """A Snapshot from one row's fields, or the problem with it."""
    original = values.get("original")
    timestamp = values.get("timestamp")
    if not isinstance(original, str) or not original.startswith(("http://", "https://")):
        return f"{where}: no absolute http(s) `original` URL"
    if url_has_forbidden_chars(original):
        return f"{where}: `original` holds control or blank characters: {original[:200]!r}"
    if not isinstance(timestamp, str):
        return f"{where}: no `timestamp`"
    try:
        wayback_time(timestamp)
    except ValueError as exc:
        return f"{where}: {exc}"

    def text(name: str) -> str | None:
        value = values.get(name)
        return str(value)[:100] if value not in (None, "") else None

    return Snapshot(
        original=original,
        timestamp=timestamp,
        status=text("statuscode") or text("status"),
        mimetype=text("mimetype") or text("mime"),
        digest=text("digest"),
    )


def _take(page: CdxPage, item: Snapshot | str) -> None:
    if isinstance(item, Snapshot):
        page.snapshots.append(item)
    elif len(page.problems) < MAX_PROBLEMS:
        page.problems.append(item)


def parse_cdx(text: str, fields: Sequence[str] = CDX_FIELDS) -> CdxPage:
    """Read one CDX server answer in any of its three forms (see the module docstring).
    `fields` is the order asked for with `fl=`, used by the plain form."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except json.JSONDecodeError as exc:
            page = CdxPage()
            page.problems.append(
                f"CDX answer is not valid JSON ({exc.msg} at line {exc.lineno}); is it cut short?"
            )
            return page
        return _from_json_rows(rows)
    page = CdxPage()
    lines = text.splitlines()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            # showResumeKey: an empty line, then the key on the next non-empty line.
            rest = [x.strip() for x in lines[number:] if x.strip()]
            if len(rest) == 1 and " " not in rest[0] and not rest[0].startswith("{"):
                page.resume_key = rest[0]
                break
            continue
        where = f"CDX line {number}"
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                _take(page, f"{where}: not a JSON object: {line[:80]!r}")
                continue
            if not isinstance(obj, dict):
                _take(page, f"{where}: not a JSON object: {line[:80]!r}")
                continue
            _take(page, _snapshot(obj, where))
            continue
        parts = line.split(" ")
        if len(parts) != len(fields):
            _take(
                page,
                f"{where}: {len(parts)} fields where {len(fields)} were asked for "
                f"({' '.join(fields)}): {line[:80]!r}",
            )
            continue
        _take(page, _snapshot(dict(zip(fields, parts, strict=True)), where))
    return page


def _from_json_rows(rows: Any) -> CdxPage:
    page = CdxPage()
    if not isinstance(rows, list):
        page.problems.append("CDX answer is JSON but not an array of rows")
        return page
    if not rows:
        return page
    header = rows[0]
    if not isinstance(header, list) or not all(isinstance(h, str) for h in header):
        page.problems.append("CDX answer's first row does not name the fields")
        return page
    body = rows[1:]
    # showResumeKey: an empty row, then a one-element row holding the key.
    if len(body) >= 2 and body[-2] == [] and isinstance(body[-1], list) and len(body[-1]) == 1:
        page.resume_key = str(body[-1][0])
        body = body[:-2]
    for number, row in enumerate(body, 2):
        where = f"CDX row {number}"
        if not isinstance(row, list) or len(row) != len(header):
            _take(page, f"{where}: expected {len(header)} fields: {str(row)[:80]!r}")
            continue
        _take(page, _snapshot(dict(zip(header, row, strict=True)), where))
    return page


# -- Memento TimeMaps (link format) ----------------------------------------------------


def _split_links(text: str) -> Iterable[str]:
    """The comma-separated entries of a link-format document; commas inside `<…>` and
    inside quoted strings are part of the entry. Hand-written because the split must
    respect quotes (every datetime holds a comma) and no maintained parser reports the
    entry it could not read."""
    depth_angle = False
    quoted = False
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth_angle = True
        elif ch == ">":
            depth_angle = False
        elif ch == "," and not depth_angle:
            yield text[start:i]
            start = i + 1
        i += 1
    yield text[start:]


def _link_params(entry: str) -> tuple[str, dict[str, str]] | None:
    entry = entry.strip()
    if not entry.startswith("<") or ">" not in entry:
        return None
    uri, rest = entry[1:].split(">", 1)
    params: dict[str, str] = {}
    for part in rest.split(";"):
        if "=" not in part:
            continue
        name, value = part.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        params[name.strip().lower()] = value
    return uri.strip(), params


def parse_timemap(text: str, original: str) -> TimeMap:
    """The mementos of one TimeMap (link format) for `original`, and links to its other
    pages. A memento without a readable datetime is a problem, not a guess."""
    timemap = TimeMap()
    for number, entry in enumerate(_split_links(text), 1):
        if not entry.strip():
            continue
        parsed = _link_params(entry)
        where = f"TimeMap entry {number}"
        if parsed is None:
            if len(timemap.problems) < MAX_PROBLEMS:
                timemap.problems.append(f"{where}: not a link (<uri>; rel=…): {entry[:80]!r}")
            continue
        uri, params = parsed
        rels = params.get("rel", "").split()
        if "memento" in rels:
            try:
                at = parsedate_to_datetime(params.get("datetime", ""))
            except (TypeError, ValueError, IndexError):
                if len(timemap.problems) < MAX_PROBLEMS:
                    timemap.problems.append(
                        f"{where}: memento {uri[:80]!r} without a readable datetime "
                        "(RFC 1123, e.g. Tue, 14 Feb 2023 10:11:12 GMT)"
                    )
                continue
            if not uri.startswith(("http://", "https://")) or url_has_forbidden_chars(uri):
                if len(timemap.problems) < MAX_PROBLEMS:
                    timemap.problems.append(
                        f"{where}: memento URI is not an absolute URL: {uri[:80]!r}"
                    )
                continue
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            timemap.snapshots.append(
                Snapshot(original=original, timestamp=wayback_timestamp(at), memento_url=uri)
            )
        elif "timemap" in rels and "self" not in rels:
            timemap.more.append(uri)
    return timemap


# -- links in an archived page ------------------------------------------------------

# The original URL inside an archive's replay URL: /web/20230214101112id_/https://…
_REPLAY = re.compile(r"/(\d{4,14})(?:[a-z]{2}_)?/(https?:/{1,2}[^\s]+)$")
MAX_LINKS = 5000


def original_of_replay(url: str) -> str | None:
    """The original URL an archive's replay URL stands for (`…/TIMESTAMP[id_]/URL`), or
    None when `url` is not one. Some archives squeeze `https://` to `https:/`."""
    parts = urlsplit(url)
    match = _REPLAY.search(parts.path + (f"?{parts.query}" if parts.query else ""))
    if match is None:
        return None
    return re.sub(r"^(https?:)/(?!/)", r"\1//", match.group(2))


def links_in_snapshot(body: bytes, snapshot_url: str) -> list[str]:
    """The original URLs an archived page links to: its links resolved against the
    snapshot's URL, unwrapped when the archive rewrote them into replay URLs. Bounded
    (MAX_LINKS); a page lxml cannot parse has none."""
    try:
        root = lxml.html.fromstring(body[:5_000_000])
    except (lxml.etree.ParserError, ValueError):
        return []
    out: list[str] = []
    seen: set[str] = set()
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        try:
            absolute = urljoin(snapshot_url, href)
        except ValueError:
            continue
        original = original_of_replay(absolute) or absolute
        if original.startswith(("http://", "https://")) and original not in seen:
            seen.add(original)
            out.append(original.split("#", 1)[0])
            if len(out) >= MAX_LINKS:
                break
    return out


# -- coverage --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coverage:
    """How well an archive's snapshots cover one article: how many, the first and last,
    and the longest stretches with none (what could have changed unseen)."""

    count: int
    first: datetime | None
    last: datetime | None
    gaps: tuple[tuple[datetime, datetime], ...]  # longest first

    def as_json(self) -> dict[str, Any]:
        return {
            "snapshots": self.count,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "largest_gaps": [
                {
                    "from": a.isoformat(),
                    "to": b.isoformat(),
                    "days": round((b - a).total_seconds() / 86400, 1),
                }
                for a, b in self.gaps
            ],
        }


def coverage_of(times: Iterable[datetime], largest: int = 3) -> Coverage:
    ordered = sorted(times)
    if not ordered:
        return Coverage(0, None, None, ())
    pairs = sorted(zip(ordered, ordered[1:], strict=False), key=lambda p: p[0] - p[1])
    return Coverage(len(ordered), ordered[0], ordered[-1], tuple(pairs[:largest]))
