"""`python -m benchmarks images`: how far apart the perceptual hashes
(`archive.content.image_hash`) of the same photo re-encoded, and of different photos,
lie; the figures behind `PHASH_MAX_DISTANCE` (docs/benchmarks.md#image-hashes).

The pictures are made here with Pillow, photo-like on purpose (smooth gradients, soft
shapes, a horizon, sensor noise), each from its own seed: no image is downloaded. For
each picture: the distance from its JPEG at quality 95 to the same at quality 40, and to
the same resized to 50 % (then encoded at quality 85, as a CDN does), and the smallest
distance between any two different pictures.
"""

from __future__ import annotations

import io
import random
import sys
from dataclasses import dataclass

from archive.content import PHASH_MAX_DISTANCE, hash_image, phash_distance

PICTURES = 12
SIZE = (640, 427)


def photo_like(seed: int, size: tuple[int, int] = SIZE) -> bytes:
    """A PNG of a made-up photo: a sky-to-ground gradient, a horizon, blurred shapes
    of random colours and places, and noise, all decided by `seed`."""
    from PIL import Image, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    width, height = size
    top = tuple(rnd.randrange(256) for _ in range(3))
    bottom = tuple(rnd.randrange(256) for _ in range(3))
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = rnd.randrange(height // 4, 3 * height // 4)
    for y in range(height):
        t = y / height
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        if y > horizon:
            colour = tuple(max(0, c - 60) for c in colour)
        draw.line([(0, y), (width, y)], fill=colour)
    for _ in range(rnd.randrange(4, 9)):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        w, h = rnd.randrange(40, width // 2), rnd.randrange(40, height // 2)
        fill = tuple(rnd.randrange(256) for _ in range(3))
        box = [x0, y0, x0 + w, y0 + h]
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)(box, fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(rnd.uniform(1.5, 4)))
    noise = Image.effect_noise(size, rnd.uniform(8, 24)).convert("RGB")
    image = Image.blend(image, noise, 0.12)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg(data: bytes, quality: int, scale: float = 1.0) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        if scale != 1.0:
            rgb = rgb.resize((int(rgb.width * scale), int(rgb.height * scale)), Image.LANCZOS)
        out = io.BytesIO()
        rgb.save(out, "JPEG", quality=quality)
        return out.getvalue()


@dataclass(frozen=True, slots=True)
class Distances:
    recompressed: list[int]  # per picture: q95 → q40
    resized: list[int]  # per picture: q95 → 50 % at q85
    different_min: int  # the closest two different pictures
    different_median: int


def _hash(data: bytes) -> str:
    found = hash_image(data).phash
    assert found is not None, "a generated picture must hash"
    return found


def measure(pictures: int = PICTURES) -> Distances:
    recompressed, resized, originals = [], [], []
    for seed in range(pictures):
        base = jpeg(photo_like(seed), 95)
        h = _hash(base)
        originals.append(h)
        recompressed.append(phash_distance(h, _hash(jpeg(base, 40))) or 0)
        resized.append(phash_distance(h, _hash(jpeg(base, 85, 0.5))) or 0)
    pairs = sorted(
        phash_distance(a, b) or 0 for i, a in enumerate(originals) for b in originals[i + 1 :]
    )
    return Distances(recompressed, resized, pairs[0], pairs[len(pairs) // 2])


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pictures = int(args[args.index("--pictures") + 1]) if "--pictures" in args else PICTURES
    d = measure(pictures)
    print(f"pictures: {pictures} generated ({SIZE[0]}×{SIZE[1]}), 64-bit phash")
    print(f"recompressed q95→q40: max {max(d.recompressed)}  each {d.recompressed}")
    print(f"resized 50% (q85):    max {max(d.resized)}  each {d.resized}")
    print(f"different pictures:   min {d.different_min}  median {d.different_median}")
    print(f"threshold PHASH_MAX_DISTANCE = {PHASH_MAX_DISTANCE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
