"""Make ``runway_nb/data/lighthouse.png``, the sample image the demo notebooks animate.

A flat-shaded picture (a lighthouse on a cliff at dusk, 16:9), drawn with Pillow only, from
nothing but this script: no randomness, no fonts, no downloads. The same Pillow gives the same
pixels; the file stays well under 60 KB (an adaptive palette of 64 colours).

    python tools/make_sample_image.py            # (re)write the shipped file
    python tools/make_sample_image.py --check    # exit 1 if the shipped pixels differ
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parents[1] / "runway_nb" / "data" / "lighthouse.png"
WIDTH, HEIGHT = 768, 432
MAX_BYTES = 60_000


def _lerp(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]  # three in, three out


def draw() -> Image.Image:
    w, h = WIDTH, HEIGHT
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)

    # Sky: dusk gradient in 24 bands (banding keeps the PNG small and reads as a poster).
    top, mid, low = (28, 36, 82), (196, 92, 110), (252, 190, 120)
    horizon = int(h * 0.62)
    bands = 24
    for i in range(bands):
        t = i / (bands - 1)
        color = _lerp(top, mid, t * 2) if t < 0.5 else _lerp(mid, low, (t - 0.5) * 2)
        y0, y1 = horizon * i // bands, horizon * (i + 1) // bands
        d.rectangle([0, y0, w, y1], fill=color)

    # Stars in the upper sky (fixed positions from a tiny integer hash).
    for k in range(40):
        x = (k * 197 + 31) % w
        y = 6 + (k * 53 + 11) % (horizon // 3)
        r = 1 + (k % 3 == 0)
        d.ellipse([x - r, y - r, x + r, y + r], fill=(235, 235, 250))

    # Setting sun, half under the horizon.
    sx, sy, sr = int(w * 0.72), horizon, 58
    d.ellipse([sx - sr, sy - sr, sx + sr, sy + sr], fill=(255, 214, 140))

    # Sea with a few light stripes (the sun's reflection).
    d.rectangle([0, horizon, w, h], fill=(40, 58, 104))
    for j in range(9):
        y = horizon + 6 + j * 13
        half = 70 - j * 6
        d.rectangle([sx - half, y, sx + half, y + 3], fill=(236, 160, 120))

    # Distant hills.
    hills = [(0, horizon)]
    for x in range(0, w + 1, 16):
        hills.append((x, horizon - 18 - int(14 * math.sin(x / 70.0)) - int(8 * math.sin(x / 23.0))))
    hills.append((w, horizon))
    d.polygon(hills, fill=(86, 60, 104))

    # Cliff in the foreground, left.
    cliff = [(0, h), (0, int(h * 0.55)), (120, int(h * 0.52)), (250, int(h * 0.56)),
             (330, int(h * 0.66)), (380, int(h * 0.80)), (420, h)]
    d.polygon(cliff, fill=(34, 30, 48))

    # Lighthouse: tapered tower with red stripes, gallery, lantern, roof.
    base_y, top_y = int(h * 0.545), int(h * 0.21)
    cx, bw, tw = 170, 30, 19

    def half_width(y: float) -> float:
        return tw + (bw - tw) * (y - top_y) / (base_y - top_y)

    d.polygon([(cx - bw, base_y), (cx - tw, top_y), (cx + tw, top_y), (cx + bw, base_y)], fill=(240, 236, 228))
    for s in range(4):
        y0 = top_y + (base_y - top_y) * (2 * s + 1) / 8
        y1 = top_y + (base_y - top_y) * (2 * s + 2) / 8
        d.polygon([(cx - half_width(y0), y0), (cx + half_width(y0), y0),
                   (cx + half_width(y1), y1), (cx - half_width(y1), y1)], fill=(196, 52, 58))
    d.rectangle([cx - tw - 7, top_y - 6, cx + tw + 7, top_y], fill=(30, 30, 40))
    d.rectangle([cx - 12, top_y - 30, cx + 12, top_y - 6], fill=(255, 236, 160))
    d.polygon([(cx - 16, top_y - 30), (cx, top_y - 46), (cx + 16, top_y - 30)], fill=(30, 30, 40))

    # Light beams from the lantern, blended over the sky.
    beams = Image.new("L", (w, h), 0)
    b = ImageDraw.Draw(beams)
    ly = top_y - 18
    b.polygon([(cx, ly - 3), (w, ly - 70), (w, ly + 40), (cx, ly + 3)], fill=70)
    b.polygon([(cx, ly - 3), (0, ly - 40), (0, ly + 20), (cx, ly + 3)], fill=50)
    beams = beams.filter(ImageFilter.BoxBlur(3))
    img = Image.composite(Image.new("RGB", (w, h), (255, 240, 190)), img, beams)
    d = ImageDraw.Draw(img)
    d.rectangle([cx - 12, top_y - 30, cx + 12, top_y - 6], fill=(255, 244, 190))

    # A small sailboat on the sea.
    bx, by = 560, horizon + 46
    d.polygon([(bx - 26, by), (bx + 26, by), (bx + 18, by + 9), (bx - 18, by + 9)], fill=(30, 28, 40))
    d.polygon([(bx, by - 44), (bx, by - 2), (bx + 24, by - 2)], fill=(245, 240, 230))
    d.polygon([(bx - 2, by - 38), (bx - 2, by - 2), (bx - 20, by - 2)], fill=(220, 210, 200))

    return img.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file instead of writing")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    args = parser.parse_args(argv)
    img = draw()
    if args.check:
        with Image.open(args.out) as shipped:
            same = shipped.size == img.size and ImageChops.difference(
                shipped.convert("RGB"), img.convert("RGB")).getbbox() is None
        print(f"{args.out}: {'same pixels' if same else 'DIFFERENT pixels'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    img.save(args.out, optimize=True)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({img.width}x{img.height}, {size} bytes)")
    if size > MAX_BYTES:
        print(f"warning: {size} bytes is over the {MAX_BYTES} byte budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
