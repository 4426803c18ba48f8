"""Bodies read within a limit: Content-Encoding and chunked decoding that never hold
more than `limit` decoded bytes, for the crawler and for imports.

Scrapy's HttpCompressionMiddleware decodes a whole body before it compares it with
DOWNLOAD_MAXSIZE, then drops the response (IgnoreRequest), so a gzip bomb left no
capture at all; warcio's `content_stream()` inflates a block at a time without an
output bound (a brotli block of 16 KiB can unpack to gigabytes) and reads a chunk of
any announced size at once. Here every step is a generator of pieces of at most `CHUNK`
bytes, stacked in the order the encodings were applied, and the reader stops pulling
one piece past its limit: memory stays near `limit`, whatever the ratio. Written here
because the codecs' one-shot helpers (gzip.decompress, Scrapy's private `_inflate`…)
either decode everything or raise without the part decoded.

Must not: know about requests, responses or records; bytes in, bytes out.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import brotli
from backports import zstd

from archive.errors import BadInput

CHUNK = 64 * 1024
# gzip header and trailer (RFC 1952); 15: the largest window.
_GZIP_WBITS = 16 + 15
_ZLIB_WBITS = 15
_RAW_DEFLATE_WBITS = -15

# The encodings we decode, as sent in Accept-Encoding (x-gzip is an old alias).
ACCEPT_ENCODING = b"gzip, deflate, br, zstd"
_CHUNK_SIZE_LINE = re.compile(rb"\s*([0-9A-Fa-f]{1,15})\s*(;[^\n]*)?\r?")
_CHUNK_LINE_MAX = 4096


class BadChunking(BadInput, ValueError):
    """A Transfer-Encoding: chunked body whose framing is broken."""


DECODE_ERRORS: tuple[type[Exception], ...] = (
    zlib.error,
    brotli.error,
    zstd.ZstdError,
    EOFError,
    BadChunking,
)


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The first `limit` decoded bytes of a body and what was learnt on the way.

    `decoded` counts every byte the codecs produced before decoding stopped: the whole
    body when `over` is False, else a lower bound (one chunk past the limit).
    `error` names a codec failure (the bytes decoded before it are in `body`);
    `kept_encodings` are the ones left undecoded (unknown to us), outermost last.
    """

    body: bytes
    decoded: int
    over: bool
    error: str | None = None
    decoded_encodings: tuple[str, ...] = ()
    kept_encodings: tuple[str, ...] = ()


def _pieces(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        yield bytes(view[start : start + CHUNK])


def _zlib_stream(source: Iterable[bytes], wbits: int) -> Iterator[bytes]:
    """gzip (every member, as `gzip -d` does), zlib or raw deflate. Bytes after the
    end of the stream are ignored, as browsers ignore them."""
    dec = zlib.decompressobj(wbits)
    ended = False
    for data in source:
        while data:
            if dec.eof:
                if wbits != _GZIP_WBITS or not data.startswith(b"\x1f\x8b"):
                    ended = True
                    break
                dec = zlib.decompressobj(wbits)  # the next gzip member
            out = dec.decompress(data, CHUNK)
            data = dec.unused_data if dec.eof else dec.unconsumed_tail
            if out:
                yield out
        if ended:
            return
    while not dec.eof:  # input ended: what zlib still holds, in bounded pieces
        out = dec.decompress(b"", CHUNK)
        if not out:
            break
        yield out


def _deflate_stream(source: Iterable[bytes]) -> Iterator[bytes]:
    """HTTP "deflate" is zlib-wrapped (RFC 9110), but some servers send raw deflate."""
    it = iter(source)
    first = next(it, b"")
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0

    def chained() -> Iterator[bytes]:
        yield first
        yield from it

    yield from _zlib_stream(chained(), _ZLIB_WBITS if wrapped else _RAW_DEFLATE_WBITS)


def _gzip_stream(source: Iterable[bytes]) -> Iterator[bytes]:
    return _zlib_stream(source, _GZIP_WBITS)


def _brotli_stream(source: Iterable[bytes]) -> Iterator[bytes]:
    dec = brotli.Decompressor()
    for data in source:
        out = dec.process(data, output_buffer_limit=CHUNK)
        if out:
            yield out
        # With an output limit, the decoder keeps the rest: drain it with empty input
        # before giving more (brotli's rule for `output_buffer_limit`).
        while out and not dec.is_finished():
            out = dec.process(b"", output_buffer_limit=CHUNK)
            if out:
                yield out
        if dec.is_finished():
            return


def _zstd_stream(source: Iterable[bytes]) -> Iterator[bytes]:
    """Every zstd frame, in order."""
    dec = zstd.ZstdDecompressor()
    for data in source:
        while True:
            if dec.eof:
                if not data:
                    break
                dec = zstd.ZstdDecompressor()  # the next frame
            out = dec.decompress(data, CHUNK)
            data = dec.unused_data if dec.eof else b""
            if out:
                yield out
            if not dec.eof and dec.needs_input:
                break


CODECS: dict[bytes, Callable[[Iterable[bytes]], Iterator[bytes]]] = {
    b"gzip": _gzip_stream,
    b"x-gzip": _gzip_stream,
    b"deflate": _deflate_stream,
    b"br": _brotli_stream,
    b"zstd": _zstd_stream,
}


def dechunk(source: Iterable[bytes]) -> Iterator[bytes]:
    """The data of a chunked body in pieces of at most `CHUNK` bytes, however large a
    chunk says it is. A body that does not start with a chunk-size line passes as it
    is: WARC writers often store a body de-chunked and keep the header (warcio assumes
    the same). A body that ends early ends the data; broken framing later raises
    `BadChunking`."""
    it = iter(source)
    buf = bytearray()

    def fill() -> bool:
        for data in it:
            if data:
                buf.extend(data)
                return True
        return False

    first = True
    while True:
        while buf.find(b"\n", 0, _CHUNK_LINE_MAX) < 0 and len(buf) < _CHUNK_LINE_MAX:
            if not fill():
                break
        end = buf.find(b"\n", 0, _CHUNK_LINE_MAX)
        match = _CHUNK_SIZE_LINE.fullmatch(bytes(buf[:end])) if end >= 0 else None
        if match is None:
            if first:  # not chunked after all
                yield from _pieces(bytes(buf))
                yield from it
                return
            if not buf.strip():
                return  # ended without the last chunk: a truncated body
            raise BadChunking(f"bad chunk-size line {bytes(buf[:40])!r}")
        first = False
        size = int(match.group(1), 16)
        del buf[: end + 1]
        if size == 0:
            return
        while size:
            if not buf and not fill():
                return  # truncated inside a chunk
            take = min(size, len(buf), CHUNK)
            yield bytes(buf[:take])
            del buf[:take]
            size -= take
        while len(buf) < 2 and fill():
            pass
        if buf.startswith(b"\r\n"):
            del buf[:2]
        elif buf.startswith(b"\n"):
            del buf[:1]


def split_encodings(values: Iterable[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(to decode, outermost first; to keep, in header order) from Content-Encoding
    values. Encodings apply left to right, so decoding starts from the right and stops
    at the first one we do not know: what lies under it cannot be reached."""
    listed = [
        part.strip().lower() for value in values for part in value.split(b",") if part.strip()
    ]
    listed = [e for e in listed if e != b"identity"]
    to_decode: list[bytes] = []
    while listed and listed[-1] in CODECS:
        to_decode.append(listed.pop())
    return to_decode, listed


def decode_bounded(body: bytes, encodings: Iterable[bytes], limit: int) -> DecodedBody:
    """Decode `body` (Content-Encoding values `encodings`) keeping at most `limit`
    decoded bytes; stops pulling from the codecs one chunk past the limit."""
    return decode_stream(_pieces(body), encodings, limit)


def decode_stream(
    source: Iterable[bytes], encodings: Iterable[bytes], limit: int, *, chunked: bool = False
) -> DecodedBody:
    """`decode_bounded` over a body that arrives in pieces (a file, a socket), first
    de-chunked when `chunked` (Transfer-Encoding: chunked)."""
    to_decode, to_keep = split_encodings(encodings)
    stream: Iterator[bytes] = iter(source)
    if chunked:
        stream = dechunk(stream)
    for encoding in to_decode:
        stream = CODECS[encoding](stream)
    kept = io.BytesIO()  # getvalue() hands over its buffer without a second copy
    decoded = 0
    error = None
    try:
        for piece in stream:
            decoded += len(piece)
            room = limit - kept.tell()
            if room > 0:
                kept.write(piece[:room])
            if decoded > limit:
                break
    except DECODE_ERRORS as exc:
        names = "+".join(e.decode("latin-1") for e in to_decode) or "chunked"
        error = f"cannot decode {names} body after {decoded} bytes: {exc or type(exc).__name__}"
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # stop the codecs now, not when collected
    return DecodedBody(
        body=kept.getvalue(),
        decoded=decoded,
        over=decoded > limit,
        error=error,
        decoded_encodings=tuple(e.decode("latin-1") for e in to_decode),
        kept_encodings=tuple(e.decode("latin-1") for e in to_keep),
    )
