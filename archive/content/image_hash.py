"""The perceptual hash of one fetched image, and how far apart two hashes are.

A 64-bit DCT hash (imagehash's `phash`, on Pillow): the same photo recompressed or
resized keeps nearly the same hash, another photo gets a distant one, so a picture
swapped under the same address is told from the outlet's CDN re-encoding it.
`PHASH_MAX_DISTANCE` is where the line is drawn, measured on generated photo-like
images (`benchmarks/image_distances.py`, docs/benchmarks.md#image-hashes).

The bytes are the outlet's and hostile: at most `MAX_IMAGE_BYTES` are read, the
header's size is checked against `MAX_IMAGE_PIXELS` before any pixel is decoded
(Pillow's decompression-bomb check is made an error at our lower limit), and a JPEG is
decoded at a reduced scale (`draft`), since the hash looks at 32×32 pixels anyway. An
image that cannot be hashed gives `phash` None and a reason, never an exception.
Pure apart from CPU; run it off the reactor thread (the crawler's extraction pool).
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "PHASH_MAX_DISTANCE",
    "ImageHash",
    "hash_image",
    "phash_distance",
]

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10_000_000
# 40 megapixels: a 7,500 × 5,300 press photo passes; a decompression bomb does not.
MAX_IMAGE_PIXELS = 40_000_000
# Two hashes at most this many bits apart (of 64) are the same picture. Measured on 40
# generated photo-like pictures (`python -m benchmarks images --pictures 40`):
# recompressing (JPEG quality 95 → 40) moved a hash by at most 4 bits, resizing to 50 %
# by at most 2, while two different pictures lay at least 18 apart (median 32); 10
# leaves room on both sides.
PHASH_MAX_DISTANCE = 10


@dataclass(frozen=True, slots=True)
class ImageHash:
    """`phash` as 16 hex digits, or None with `reason`."""

    phash: str | None
    reason: str | None = None


def hash_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> ImageHash:
    """The perceptual hash of an image's bytes; never raises for bad input."""
    if not data:
        return ImageHash(None, "empty body")
    if len(data) > max_bytes:
        return ImageHash(None, f"larger than {max_bytes} bytes")
    try:
        import imagehash
        from PIL import Image
    except ImportError as exc:  # a deployment without the dependency still records
        return ImageHash(None, f"imagehash unavailable ({exc})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width <= 0 or height <= 0 or width * height > max_pixels:
                    return ImageHash(None, f"{width}×{height} pixels, over {max_pixels}")
                image.draft("L", (128, 128))  # JPEG: decode at 1/2…1/8 scale
                return ImageHash(str(imagehash.phash(image)))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return ImageHash(None, f"decompression bomb ({exc})")
    except MemoryError:
        return ImageHash(None, "out of memory decoding it")
    except Exception as exc:  # boundary: Pillow raises many kinds on hostile bytes
        return ImageHash(None, f"not a decodable image ({type(exc).__name__}: {exc})"[:300])


def phash_distance(a: str, b: str) -> int | None:
    """Bits that differ between two hashes; None when either is not a 64-bit hex hash."""
    try:
        if len(a) != 16 or len(b) != 16:
            return None
        return (int(a, 16) ^ int(b, 16)).bit_count()
    except ValueError:
        return None
