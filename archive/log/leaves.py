"""How the log's leaves are stored: compactly, and read back to their exact bytes.

A leaf (archive.log.seal, docs/evidence.md) is about 2 KB of canonical JSON that
repeats the capture row, the version the capture saw and the article's state. The log
commits to those exact bytes (their RFC 9162 hash is `captures.leaf_hash`); `verify`
compares them with the rows to name the field that changed, and proofs and evidence
packages hand them out. Stored as text they were most of what an unchanged capture
cost (issue #14), though a recheck's leaf mostly repeats the article's earlier ones.

The stored form (`capture_leaves.leaf_z`), written by `store_leaf` and read back by
`LeafReader`, nothing else:

    own:     0x01 | deflate(leaf; dictionary 1)
    against: 0x81 | anchor capture id (LEB128) | SHA-256(anchor's leaf)[:4]
                  | deflate(leaf; dictionary 1 + the anchor's leaf)

Raw deflate with a preset dictionary: dictionary 1 (`DICTIONARIES`) holds the leaf
format's keys and common values. The leaf of the capture that first saw a version (its
anchor) is stored on its own; the leaves of the later captures that saw the same
version, every recheck of an unchanged article, are compressed against it too, which
leaves little more than what is new in them (ids, times, digests). The low seven bits
of the first byte name the dictionary, so a later one can be added while old blobs stay
readable. An anchor is always stored on its own, so a leaf is read with at most one
other; the anchor's digest prefix tells a leaf that cannot be read because its anchor
was altered from one that was altered itself.

The container is hand-written because zlib has no field for which leaf a blob was
compressed against; it has four.

Must not: change a byte of what it is given, or interpret a leaf (what a leaf says is
archive.log.seal's).
"""

from __future__ import annotations

import hashlib
import zlib
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from archive.errors import BadInput, StorageError
from archive.store.models import CaptureLeaf

# Dictionary 1: the leaf format's keys and its most common values, the likeliest last
# (deflate reaches the end of a dictionary with the shortest distances). Never edit
# it: blobs marked 1 decompress only with these exact bytes; add a dictionary 2.
_DICTIONARY_1 = "".join(
    [
        '"blocked","degraded","removal_pending","removed","restored","unreachable",',
        '"http_404","http_410","redirect_home","redirect_elsewhere","soft_404","emptied",',
        '"discovered","edited","moved","reachable","title","body","byline","dates",',
        '"significance":0.,"classes":[',
        '"revisit","import","web_archive","timeout","dns","connection",',
        '"cache-control":"max-age=","content-encoding":"gzip","vary":"Accept-Encoding",',
        '"legacy_chain":{"chain_hash":"","prev_chain":""},',
        '"events":[{"article_id":,"at":"2026-',
        '+00:00","detail":{},"from_version_id":null,',
        '"how":[],"id":,"kind":"edited","to_version_id":}],',
        '"version":{"article_id":,"byline":null,"content_sha256":"","extractor":"trafilatura ',
        '","id":,"lang":"en","modified":null,"n":1,"normalizer":"","published":"',
        '","seen":true,"text_chars":,"text_sha256":"","text_words":,"title":"',
        '{"article":{"first_seen":"2026-',
        '+00:00","id":,"removal":null,"removed_at":null,',
        '"source_id":,"status":"live","url":"https://',
        '"capture":{"article_id":,"detail":{"seen":"content"},"error":null,"fetch_key":"',
        '","fetched_at":"2026-',
        '+00:00","final_url":"https://www.',
        '","headers":{"content-length":"0","content-type":"text/html; charset=utf-8",',
        '"date":"Mon, 30 Nov 2026 00:00:00 GMT","etag":"\\"","last-modified":"',
        ' GMT","server":"nginx"},"id":,"origin":"crawl","outcome":"unchanged",',
        '"payload_length":0,"payload_sha256":',
        '"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",',
        '"provenance":{},"recorded_at":"2026-',
        '+00:00","redirects":[],',
        '"requested_url":"https://","seq":,"source_id":,"status":304,"version_id":},',
        '"events":[],"format":"presswatch-capture-leaf/1","index":,"version":',
        '"warc":{"file":"presswatch-',
        '.warc.gz","length":,"offset":,"record_sha256":"',
        '","request_length":,"request_sha256":"","type":"response"}}',
        '"outcome":"not_modified","payload_length":0,"detail":{"seen":"not_modified"},',
    ]
).encode("utf-8")
DICTIONARIES = {1: _DICTIONARY_1}
CURRENT = 1
AGAINST_ANCHOR = 0x80
ANCHOR_CHECK_BYTES = 4


class LeafFormatError(BadInput, ValueError):
    """A stored leaf is not a blob this module wrote, or it (or its anchor) was altered."""


def _deflate(data: bytes, dictionary: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, dictionary)
    return packer.compress(data) + packer.flush()


def _inflate(stream: bytes, dictionary: bytes) -> bytes:
    unpacker = zlib.decompressobj(-15, dictionary)
    try:
        data = unpacker.decompress(stream) + unpacker.flush()
    except zlib.error as exc:
        raise LeafFormatError(f"its deflate stream is damaged ({exc})") from exc
    if not unpacker.eof or unpacker.unused_data:
        raise LeafFormatError("its deflate stream is cut short or has bytes after its end")
    return data


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _read_varint(blob: bytes, at: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        if at >= len(blob) or shift > 63:
            raise LeafFormatError("its anchor reference is cut short")
        byte = blob[at]
        number |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return number, at


def _check(anchor: bytes) -> bytes:
    return hashlib.sha256(anchor).digest()[:ANCHOR_CHECK_BYTES]


# -- the pure format ----------------------------------------------------------------------


def pack_leaf(data: bytes, anchor: tuple[int, bytes] | None = None) -> bytes:
    """The stored form of `data` (a leaf's bytes), compressed against `anchor` (a
    capture id and its leaf's bytes; that leaf must be stored on its own) if given."""
    dictionary = DICTIONARIES[CURRENT]
    if anchor is None:
        return bytes([CURRENT]) + _deflate(data, dictionary)
    anchor_id, anchor_data = anchor
    header = bytes([CURRENT | AGAINST_ANCHOR]) + _varint(anchor_id) + _check(anchor_data)
    return header + _deflate(data, dictionary + anchor_data)


def anchor_of(blob: bytes) -> int | None:
    """The capture whose leaf `blob` was compressed against, or None (stored on its own)."""
    if not blob or not blob[0] & AGAINST_ANCHOR:
        return None
    return _read_varint(blob, 1)[0]


def unpack_leaf(blob: bytes, anchor: Callable[[int], bytes] | None = None) -> bytes:
    """The exact bytes `pack_leaf` was given. `anchor` returns the leaf bytes of a
    capture whose leaf is stored on its own. Raises LeafFormatError when the blob is
    not one `pack_leaf` wrote, or its anchor is not the leaf it was compressed against."""
    if not blob:
        raise LeafFormatError("it is empty")
    dictionary = DICTIONARIES.get(blob[0] & ~AGAINST_ANCHOR)
    if dictionary is None:
        raise LeafFormatError(f"it starts with an unknown format byte {blob[0]:#04x}")
    if not blob[0] & AGAINST_ANCHOR:
        return _inflate(blob[1:], dictionary)
    anchor_id, at = _read_varint(blob, 1)
    check = blob[at : at + ANCHOR_CHECK_BYTES]
    if anchor is None:
        raise LeafFormatError(
            f"it is compressed against capture {anchor_id}'s leaf, but it is an anchor and "
            "must be stored on its own"
        )
    anchor_data = anchor(anchor_id)
    if len(check) != ANCHOR_CHECK_BYTES or _check(anchor_data) != check:
        raise LeafFormatError(
            f"it is compressed against capture {anchor_id}'s leaf, which is no longer "
            "the one it was compressed against"
        )
    return _inflate(blob[at + ANCHOR_CHECK_BYTES :], dictionary + anchor_data)


# -- in the database -----------------------------------------------------------------------


def store_leaf(session: Session, capture_id: int, data: bytes, anchor_id: int | None) -> None:
    """Keep `data`, the leaf of capture `capture_id`, once (the log is append-only):
    compressed against the leaf of capture `anchor_id` (the one that first saw the same
    version) when that leaf is stored on its own and still reads back, else on its own.
    Written at once on the session's connection, as Core statements: through the ORM
    (an object, its flush, an autoflushing lookup) this cost about 0.2 ms a capture,
    a tenth of what recording a capture costs."""
    connection = session.connection()
    anchor = None
    if anchor_id is not None and anchor_id != capture_id:
        blob = connection.execute(_ANCHOR, {"capture_id": anchor_id}).scalar()
        if blob is not None and anchor_of(blob) is None:
            try:
                anchor = (anchor_id, unpack_leaf(blob))
            except LeafFormatError:
                anchor = None  # verify reports that leaf; this one must not depend on it
    connection.execute(
        insert(CaptureLeaf), {"capture_id": capture_id, "leaf_z": pack_leaf(data, anchor)}
    )


_ANCHOR = select(CaptureLeaf.leaf_z).where(CaptureLeaf.capture_id == bindparam("capture_id"))


class LeafReader:
    """Reads stored leaves back to their exact bytes: the one way verify, proofs and
    evidence packages get them. Keeps the last `cache` anchors it read (an article's
    leaves share one)."""

    def __init__(self, session: Session, cache: int = 4096) -> None:
        self.session = session
        self.cache = cache
        self.anchors: OrderedDict[int, bytes] = OrderedDict()

    def _blob(self, capture_id: int) -> bytes | None:
        return self.session.scalar(
            select(CaptureLeaf.leaf_z).where(CaptureLeaf.capture_id == capture_id)
        )

    def _anchor(self, capture_id: int) -> bytes:
        found = self.anchors.get(capture_id)
        if found is not None:
            self.anchors.move_to_end(capture_id)
            return found
        blob = self._blob(capture_id)
        if blob is None:
            raise LeafFormatError(
                f"it is compressed against capture {capture_id}'s leaf, which is missing"
            )
        try:
            found = unpack_leaf(blob)
        except LeafFormatError as exc:
            raise LeafFormatError(
                f"it is compressed against capture {capture_id}'s leaf, which cannot be read: {exc}"
            ) from exc
        self._remember(capture_id, found)
        return found

    def _remember(self, capture_id: int, data: bytes) -> None:
        self.anchors[capture_id] = data
        if len(self.anchors) > self.cache:
            self.anchors.popitem(last=False)

    def read(self, capture_id: int, blob: bytes | None = None) -> bytes:
        """The leaf of capture `capture_id`; `blob` is its stored form when the caller
        selected it already. Raises StorageError naming the capture when there is no
        stored leaf or it cannot be read back."""
        if blob is None:
            blob = self._blob(capture_id)
        if blob is None:
            raise StorageError(
                f"capture {capture_id} has no stored log leaf (deleted, or never sealed: "
                "run `presswatch init`, then `presswatch verify`)"
            )
        try:
            data = unpack_leaf(blob, self._anchor)
        except LeafFormatError as exc:
            raise StorageError(
                f"capture {capture_id}: its stored log leaf cannot be read: {exc} "
                "(altered or damaged; run `presswatch verify`)"
            ) from exc
        if anchor_of(blob) is None:
            # Read in log order (verify), an article's anchor comes before its other
            # leaves: keep it rather than read it again for each of them.
            self._remember(capture_id, data)
        return data


def read_leaf(session: Session, capture_id: int) -> bytes:
    """The exact bytes of one capture's log leaf (see LeafReader)."""
    return LeafReader(session).read(capture_id)
