"""Real, deterministic media for the offline simulator.

The simulator answers generation requests with genuine files that honour the
request: PNGs (or JPEG, WebP) of exactly the requested size and H.264/MP4 videos (yuv420p,
BT.709 limited range, ``moov`` atom first so browsers can start playing at
once) of exactly the requested size and ``round(duration * fps)`` frames.

Every picture is derived from a hash of the prompt and seed (palette and
composition), so the same request always yields byte-identical output while a
different seed yields a visibly different picture.  Every output carries a
caption band with the prompt, the model and the seed.

Public interface::

    render_image(width, height, *, prompt, model, seed, source=None) -> PNG bytes
    render_video(width, height, duration, *, prompt, model, seed, fps=24,
                 source_image=None, source_video=None) -> MP4 bytes
    probe(data) -> dict
    decode_image(data) -> PIL.Image.Image
    upscale_image(source, factor, *, max_side=4096) -> PNG or JPEG bytes
    render_hdr_video(source, *, transfer="pq", prores_profile=None)
        -> HDR MP4 bytes (BT.2020, PQ or HLG, 10-bit), or an HDR ProRes MOV
    add_audio_track(video, audio) -> MP4 bytes: the video with the audio as AAC
    video_frames(source), video_rate_and_size(source): a video's decoded frames, its rate and size

Implementation notes (performance): video frames are composed directly in the
AVFrame's Y/Cb/Cr planes (PIL ``L`` images sharing the frame's memory) from
sprites that are converted once, so per frame only cheap pastes happen; the
caption band is rendered once; Ken Burns zooms and video-to-video resizes use
swscale (bit-exact mode); x264 runs with preset ``ultrafast`` and a fixed two
frame threads, so output bytes are the same on every run and machine (given
the same PyAV/FFmpeg/x264 and Pillow builds).  ``av`` and PIL are imported
lazily so importing this module is cheap.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import contextlib
import hashlib
import io
import math
import random
import struct
from collections.abc import Callable, Generator, Iterable, Iterator
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:  # pragma: no cover - types only: PIL, PyAV and numpy load lazily
    import numpy as np
    from av.container import OutputContainer
    from av.video.frame import VideoFrame
    from av.video.plane import VideoPlane
    from av.video.reformatter import Interpolation
    from av.video.stream import VideoStream
    from numpy.typing import NDArray
    from PIL import Image as _PILImage
    from PIL import ImageFont

    _Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
    _YUV = tuple[_PILImage.Image, _PILImage.Image, _PILImage.Image]

__all__ = [
    "BT709_TO_BT2020",
    "HDR_COLORSPACE_BT2020NC",
    "HDR_PRIMARIES_BT2020",
    "HDR_TRC",
    "HDR_TRC_ARIB_STD_B67",
    "HDR_TRC_SMPTE2084",
    "PRORES_PROFILES",
    "SDR_WHITE_NITS",
    "HdrTransfer",
    "MediaInfo",
    "add_audio_track",
    "copy_audio_track",
    "decode_image",
    "encode_frames",
    "probe",
    "render_hdr_video",
    "render_image",
    "render_video",
    "upscale_image",
    "video_frames",
    "video_rate_and_size",
]



class MediaInfo(TypedDict, total=False):
    """What :func:`probe` tells about media bytes (images: kind, width, height, format)."""

    kind: str  # "image" | "video"
    width: int
    height: int
    format: str | None  # images: as PIL names it
    frames: int  # videos from here on
    fps: int | float | None
    duration: float
    codec: str


_RGB = tuple[int, int, int]
# a sprite's position at time t (seconds into the video)
_Path = Callable[[float], tuple[int, int]]

_MAX_SIDE = 8192
_MAX_FPS = 240
_Z_MAX = 1.18  # Ken Burns zoom range: 1.0 .. _Z_MAX

# RGB -> BT.709 limited-range Y'CbCr, as a PIL 12-tuple conversion matrix.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB
_SY, _SC = 219.0 / 255.0, 224.0 / 255.0
_M709 = (
    _KR * _SY, _KG * _SY, _KB * _SY, 16.0,
    -_KR / (2 * (1 - _KB)) * _SC, -_KG / (2 * (1 - _KB)) * _SC, 0.5 * _SC, 128.0,
    0.5 * _SC, -_KG / (2 * (1 - _KR)) * _SC, -_KB / (2 * (1 - _KR)) * _SC, 128.0,
)


# ---------------------------------------------------------------------------
# validation & small helpers
# ---------------------------------------------------------------------------

def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _check_size(width: object, height: object, *, even: bool) -> tuple[int, int]:
    w = _check_int("width", width)
    h = _check_int("height", height)
    if w <= 0 or h <= 0:
        raise ValueError(f"width and height must be positive, got {w}x{h}")
    if w > _MAX_SIDE or h > _MAX_SIDE:
        raise ValueError(f"width and height must be at most {_MAX_SIDE}, got {w}x{h}")
    if even and (w % 2 or h % 2):
        raise ValueError(
            f"video width and height must be even (H.264 yuv420p), got {w}x{h}"
        )
    return w, h


def _check_common(prompt: object, model: object, seed: object) -> tuple[str, str, int]:
    if prompt is None:
        prompt = ""
    if not isinstance(prompt, str):
        raise ValueError(f"prompt must be a string, got {type(prompt).__name__}")
    if not isinstance(model, str):
        raise ValueError(f"model must be a string, got {type(model).__name__}")
    return prompt, model, _check_int("seed", seed)


def _as_bytes(data: object, what: str) -> bytes:
    if isinstance(data, str) and data.startswith("data:"):
        data = data.encode("ascii", "replace")
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ValueError(f"{what} must be bytes, got {type(data).__name__}")
    if data[:5] == b"data:":  # tolerate a data: URI even though callers decode them
        head, sep, payload = data.partition(b",")
        if not sep:
            raise ValueError(f"{what}: malformed data: URI")
        try:
            if head.endswith(b";base64"):
                data = base64.b64decode(payload, validate=False)
            else:
                from urllib.parse import unquote_to_bytes

                data = unquote_to_bytes(payload)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{what}: malformed data: URI ({exc})") from None
    if not data:
        raise ValueError(f"{what} is empty")
    return data


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def _hsv(h: float, s: float, v: float) -> _RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, _clamp(s, 0, 1), _clamp(v, 0, 1))
    return (round(r * 255), round(g * 255), round(b * 255))


def _mix(a: _RGB, b: _RGB, t: float) -> _RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _smooth(p: float) -> float:
    p = _clamp(p, 0.0, 1.0)
    return p * p * (3 - 2 * p)


def _even(v: float) -> int:
    return round(v / 2.0) * 2


def _yuv(rgb: _RGB) -> _RGB:
    m = _M709
    r, g, b = rgb

    def row(i: int) -> int:
        return int(_clamp(round(m[i] * r + m[i + 1] * g + m[i + 2] * b + m[i + 3]), 0, 255))

    return row(0), row(4), row(8)


# ---------------------------------------------------------------------------
# style: everything visual derives from sha256(prompt, seed)
# ---------------------------------------------------------------------------

# words that set time of day (checked first), then words that only set a hue
_MOOD_WORDS = {
    "sunset": (0.03, "dusk"), "sunrise": (0.08, "dusk"), "dawn": (0.93, "dusk"),
    "dusk": (0.75, "dusk"), "twilight": (0.72, "dusk"), "fire": (0.02, "dusk"),
    "lava": (0.01, "dusk"), "night": (0.64, "night"), "moon": (0.62, "night"),
    "moonlit": (0.62, "night"), "space": (0.70, "night"), "stars": (0.68, "night"),
    "starry": (0.68, "night"), "galaxy": (0.76, "night"), "neon": (0.83, "night"),
    "cyberpunk": (0.85, "night"),
}
_HUE_WORDS = {
    "rose": 0.95, "pink": 0.93, "red": 0.0, "autumn": 0.07, "orange": 0.07,
    "desert": 0.09, "gold": 0.12, "golden": 0.12, "yellow": 0.15, "forest": 0.30,
    "jungle": 0.33, "green": 0.33, "meadow": 0.25, "ocean": 0.55, "sea": 0.55,
    "beach": 0.52, "lake": 0.56, "river": 0.55, "sky": 0.58, "blue": 0.6,
    "snow": 0.58, "ice": 0.53, "winter": 0.6, "purple": 0.78, "violet": 0.76,
    "city": 0.66,
}
_KIND_WORDS = {
    "hills": ("mountain", "mountains", "hill", "hills", "valley", "landscape",
              "forest", "desert", "canyon", "meadow", "field"),
    "waves": ("ocean", "sea", "wave", "waves", "water", "lake", "river", "beach",
              "surf", "boat", "harbor", "underwater"),
    "orbs": ("abstract", "bokeh", "bubble", "bubbles", "space", "galaxy", "star",
             "stars", "particles", "lights", "neon", "dream", "orb", "orbs"),
}


class _Style:
    """Palette and composition parameters derived from a hash of prompt+seed."""

    def __init__(self, prompt: str, seed: int) -> None:
        key = f"runway-nb/sim\x00{seed}\x00{prompt}".encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(key).digest()
        self.rng = random.Random(digest)
        rng = self.rng
        hue, mood = rng.random(), rng.choice(("day", "dusk", "dusk", "night"))
        tokens = [w.strip(".,;:!?\"'()[]{}").lower() for w in prompt.split()]
        mood_hit = next((w for w in tokens if w in _MOOD_WORDS), None)
        hue_hit = next((w for w in tokens if w in _HUE_WORDS), None)
        if mood_hit:
            hue, mood = _MOOD_WORDS[mood_hit]
            hue += rng.uniform(-0.05, 0.05)
        elif hue_hit:
            hue = _HUE_WORDS[hue_hit] + rng.uniform(-0.05, 0.05)
            mood = rng.choice(("day", "day", "dusk"))
        kind = rng.choice(("hills", "waves", "orbs"))
        for k, ws in _KIND_WORDS.items():
            if set(tokens).intersection(ws):
                kind = k
                break
        self.kind, self.mood, self.hue = kind, mood, hue % 1.0
        dh = rng.uniform(0.06, 0.3) * rng.choice((1, -1))
        top_v, hor_v = {"day": (0.78, 0.98), "dusk": (0.38, 0.97), "night": (0.10, 0.36)}[mood]
        self.sky_top = _hsv(hue, rng.uniform(0.55, 0.8), top_v)
        self.sky_mid = _hsv(hue + dh / 2, rng.uniform(0.45, 0.65), (top_v + hor_v) / 2)
        self.horizon = _hsv(hue + dh, rng.uniform(0.3, 0.5), hor_v)
        self.sun = _hsv(hue + dh + 0.02, 0.22 if mood != "night" else 0.08, 1.0)
        land_h = hue + (0.5 if kind == "waves" else rng.uniform(0.25, 0.6))
        land_v = {"day": 0.42, "dusk": 0.24, "night": 0.12}[mood]
        self.land = _hsv(land_h, rng.uniform(0.45, 0.75), land_v)
        self.accents = [
            _hsv(hue + dh + j * rng.uniform(0.08, 0.2), rng.uniform(0.35, 0.7), 1.0)
            for j in range(4)
        ]
        self.accent = _hsv(hue + dh, 0.55, 1.0)
        # video-to-video grading
        self.grade = rng.choice(("film", "poster", "duotone"))
        self.hue_turn = rng.uniform(0.35, 2.0 * math.pi - 0.35)
        self.zoom_in = rng.random() < 0.5
        self.pan = (rng.random(), rng.random(), rng.random(), rng.random())


# ---------------------------------------------------------------------------
# PIL helpers: fonts, planes, sprites
# ---------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _font(size: int) -> _Font:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType
        return ImageFont.load_default()


def _text_len(font: _Font, text: str) -> float:
    try:
        return font.getlength(text)
    except AttributeError:  # bitmap font
        return font.getbbox(text)[2]


def _to_planes(rgb: _PILImage.Image) -> _YUV:
    """RGB image with even size -> (Y, Cb, Cr) L images, chroma half size."""
    y, cb, cr = rgb.convert("RGB", _M709).split()
    return y, cb.reduce(2), cr.reduce(2)


class _Sprite:
    """An RGB picture with an optional alpha mask, pasteable onto RGB images
    or onto Y/Cb/Cr planes (converted once, lazily)."""

    __slots__ = ("_p", "alpha", "rgb")

    def __init__(self, rgb: _PILImage.Image, alpha: _PILImage.Image | None = None) -> None:
        self.rgb, self.alpha = rgb, alpha
        # Y, Cb, Cr, the alpha at full and at half (chroma) size
        self._p: tuple[_PILImage.Image, _PILImage.Image, _PILImage.Image,
                       _PILImage.Image | None, _PILImage.Image | None] | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size

    def planes(self) -> tuple[_PILImage.Image, _PILImage.Image, _PILImage.Image,
                              _PILImage.Image | None, _PILImage.Image | None]:
        if self._p is None:
            from PIL import Image

            rgb, alpha = self.rgb, self.alpha
            w, h = rgb.size
            if w % 2 or h % 2:  # pad to even so chroma lines up
                ew, eh = w + w % 2, h + h % 2
                rgb2 = Image.new("RGB", (ew, eh))
                rgb2.paste(rgb, (0, 0))
                if w % 2:
                    rgb2.paste(rgb.crop((w - 1, 0, w, h)), (w, 0))
                if h % 2:
                    rgb2.paste(rgb2.crop((0, h - 1, ew, h)), (0, h))
                a2 = Image.new("L", (ew, eh), 0)
                a2.paste(alpha if alpha is not None else 255, (0, 0, w, h))
                rgb, alpha = rgb2, a2
            y, u, v = _to_planes(rgb)
            half = alpha.reduce(2) if alpha is not None else None
            self._p = (y, u, v, alpha, half)
        return self._p

    def paste_rgb(self, img: _PILImage.Image, x: int, y: int) -> None:
        img.paste(self.rgb, (x, y), self.alpha)

    def paste_yuv(self, planes: _YUV, x: int, y: int) -> None:
        py, pu, pv, a, a2 = self.planes()
        Y, U, V = planes
        Y.paste(py, (x, y), a)
        cx, cy = x >> 1, y >> 1
        U.paste(pu, (cx, cy), a2)
        V.paste(pv, (cx, cy), a2)


def _vgradient(w: int, h: int, stops: list[tuple[float, _RGB]]) -> _PILImage.Image:
    """Vertical multi-stop gradient (stops: (position 0..1, colour))."""
    from PIL import Image

    col = bytearray()
    last = max(h - 1, 1)
    k = 0
    for yy in range(h):
        p = yy / last
        while k < len(stops) - 2 and p > stops[k + 1][0]:
            k += 1
        (p0, c0), (p1, c1) = stops[k], stops[k + 1]
        t = _clamp((p - p0) / (p1 - p0) if p1 > p0 else 0.0, 0.0, 1.0)
        col += bytes(_mix(c0, c1, t))
    column = Image.frombytes("RGB", (1, h), bytes(col))
    return column.resize((w, h), Image.Resampling.NEAREST)


@lru_cache(maxsize=8)
def _radial_lut(kind: str) -> tuple[int, ...]:
    # input: Image.radial_gradient value: 0 at the centre, 181 on the inscribed
    # circle, 255 in the corners (value = distance * sqrt(2))
    out = []
    for v in range(256):
        r = v / 181.0
        if kind == "glow":
            a = (1.0 - r) ** 2 if r < 1 else 0.0
        else:  # bokeh disc: flat body, brighter rim, soft edge
            if r < 0.78:
                a = 0.72 + 0.18 * (r / 0.78) ** 3
            elif r < 0.9:
                a = 0.9 * (0.9 - r) / 0.12
            else:
                a = 0.0
        out.append(round(255 * a))
    return tuple(out)


def _radial_sprite(diameter: int, colour: _RGB, kind: str, strength: float) -> _Sprite:
    from PIL import Image

    d = max(2, int(diameter))
    lut = [round(v * strength) for v in _radial_lut(kind)]
    mask = Image.radial_gradient("L").point(lut)
    mask = mask.resize((d, d), Image.Resampling.BILINEAR)
    return _Sprite(Image.new("RGB", (d, d), colour), mask)


def _drift(x0: float, y0: float, dx: float, dy: float) -> _Path:
    """A straight, slow drift from (x0, y0) by (dx, dy) per second."""
    return lambda t: (int(x0 + dx * t), int(y0 + dy * t))


def _wobble(x0: float, y0: float, ax: float, ay: float, wx: float, wy: float, px: float, py: float,
            vy: float) -> _Path:
    """A sine wobble around (x0, y0) (amplitudes ax, ay; rates wx, wy; phases px, py), rising by vy per second."""
    return lambda t: (int(x0 + ax * (math.sin(wx * t + px) - math.sin(px))),
                      int(y0 + ay * (math.sin(wy * t + py) - math.sin(py)) + vy * t))


def _bobbing(x_of: Callable[[float], int], y0: int, bob: float) -> _Path:
    """Across by ``x_of``, bobbing up and down by ``bob`` pixels around ``y0``."""
    return lambda t: (x_of(t), round(y0 + bob * math.sin(2.1 * t)))


# ---------------------------------------------------------------------------
# scene: background + moving sprites, rendered to RGB (stills) or YUV (video)
# ---------------------------------------------------------------------------

class _Scene:
    def __init__(self, w: int, h: int, style: _Style, duration: float = 0.0) -> None:
        from PIL import ImageDraw

        self.w, self.h, self.style = w, h, style
        rng = random.Random(style.rng.random())
        st = style
        m = min(w, h)
        horizon_p = rng.uniform(0.5, 0.68)
        self.bg = _vgradient(
            w, h, [(0.0, st.sky_top), (horizon_p * 0.6, st.sky_mid),
                   (horizon_p, st.horizon), (1.0, _mix(st.horizon, st.land, 0.5))])
        if st.mood == "night" or st.kind == "orbs":
            draw = ImageDraw.Draw(self.bg)
            for _ in range(int(w * h * (0.0006 if st.mood == "night" else 0.00015))):
                x, yy = rng.randrange(w), int(rng.random() ** 1.6 * h * horizon_p)
                c = _mix(st.sky_top, (255, 255, 255), rng.uniform(0.4, 1.0))
                if rng.random() < 0.15 and m >= 200:
                    draw.ellipse((x - 1, yy - 1, x + 1, yy + 1), fill=c)
                else:
                    draw.point((x, yy), fill=c)
        # items: (sprite, path(t) -> (x, y))
        self.items: list[tuple[_Sprite, _Path]] = []
        dur = max(duration, 1e-6)

        # sun / moon glow drifting slowly
        gd = int(m * rng.uniform(0.55, 0.85))
        glow = _radial_sprite(gd, st.sun, "glow", 0.95)
        core_d = int(gd * 0.22)
        core = _radial_sprite(core_d, _mix(st.sun, (255, 255, 255), 0.6), "disc", 1.0)
        sx0 = rng.uniform(0.2, 0.8) * w
        sy0 = horizon_p * h * rng.uniform(0.45, 0.8)
        sdx = rng.choice((-1, 1)) * w * 0.012
        sdy = h * 0.01
        self.items.append((glow, _drift(sx0 - gd / 2, sy0 - gd / 2, sdx, sdy)))
        self.items.append((core, _drift(sx0 - core_d / 2, sy0 - core_d / 2, sdx, sdy)))

        back_orbs = 14 if st.kind == "orbs" else 5
        self._add_orbs(rng, back_orbs, 0.04 if st.kind != "orbs" else 0.08,
                       0.16 if st.kind == "orbs" else 0.05, (0.0, horizon_p if st.kind != "orbs" else 1.0),
                       0.45 if st.kind == "orbs" else 0.6)
        if st.kind in ("hills", "waves"):
            self._add_layers(rng, horizon_p, duration, dur)
        if st.kind == "orbs":
            self._add_orbs(rng, 7, 0.1, 0.22, (0.1, 0.95), 0.55)

    def _add_orbs(self, rng: random.Random, count: int, dmin: float, dmax: float, yrange: tuple[float, float],
                  strength: float) -> None:
        w, h, st = self.w, self.h, self.style
        m = min(w, h)
        for _ in range(count):
            d = max(4, int(m * rng.uniform(dmin, dmax)))
            col = rng.choice(st.accents)
            spr = _radial_sprite(d, col, "disc", strength * rng.uniform(0.6, 1.0))
            x0 = rng.uniform(-0.05, 1.05) * w - d / 2
            y0 = rng.uniform(*yrange) * h - d / 2
            ax, ay = rng.uniform(0.02, 0.08) * w, rng.uniform(0.02, 0.06) * h
            wx, wy = rng.uniform(0.25, 0.9), rng.uniform(0.25, 0.9)
            px, py = rng.uniform(0, 6.283), rng.uniform(0, 6.283)
            vy = -rng.uniform(0.0, 0.03) * h
            self.items.append((spr, _wobble(x0, y0, ax, ay, wx, wy, px, py, vy)))

    def _add_layers(self, rng: random.Random, horizon_p: float, duration: float, dur: float) -> None:
        from PIL import Image, ImageDraw

        w, h, st = self.w, self.h, self.style
        waves = st.kind == "waves"
        n = 3 if min(w, h) < 160 else 4
        top = horizon_p * h * (0.97 if waves else 0.8)
        specs = []
        for k in range(n):
            depth = (k + 1) / n  # 0 far .. 1 near
            base = top + (h - top) * (0.08 + 0.55 * k / n)
            amp = h * (0.035 if waves else 0.11) * (0.6 + 0.5 * depth) * rng.uniform(0.7, 1.2)
            speed = w * (0.015 + 0.05 * depth) * (rng.choice((-1, 1)) if waves else 1)
            if duration > 0:
                speed = math.copysign(min(abs(speed), 1.5 * w / dur), speed)
            travel = math.ceil(abs(speed) * duration) + 2 if duration > 0 else 0
            colour = _mix(st.horizon, st.land, 0.35 + 0.65 * depth)
            bob = h * 0.008 * depth if waves else 0.0
            specs.append((depth, base, amp, speed, travel, colour, bob))

        for idx, (depth, base, amp, speed, travel, colour, bob) in enumerate(specs):
            lw = w + travel
            harmonics = [(rng.uniform(0.5, 1.6) * (3 if waves else 1) * (1 + idx * 0.4),
                          rng.uniform(0, 6.283), 1.0)]
            harmonics += [(rng.uniform(2.0, 5.0) * (2 if waves else 1), rng.uniform(0, 6.283), 0.35),
                          (rng.uniform(6.0, 11.0), rng.uniform(0, 6.283), 0.12)]
            norm = sum(a for _, _, a in harmonics)
            step = max(2, w // 160)
            pts = []
            for x in range(0, lw + step, step):
                u = x / w * 2 * math.pi
                r = sum(a * math.sin(f * u + ph) for f, ph, a in harmonics) / norm
                pts.append((x, base - amp * r))
            ymin = math.floor(min(p[1] for p in pts)) - 1
            ymax = math.ceil(max(p[1] for p in pts)) + 1
            ymin = max(ymin, 0)
            if ymin >= h:
                continue
            body_bottom = h + math.ceil(bob) + 1
            # the next (nearer) layer is opaque below its lowest ridge point, so stop
            # there, allowing for both layers bobbing in opposite directions
            if idx + 1 < len(specs):
                _, nbase, namp, _, _, _, nbob = specs[idx + 1]
                body_bottom = min(body_bottom, math.ceil(nbase + namp + nbob + bob) + 3)
            # ridge band, 2x supersampled for smooth edges
            eh = max(2, ymax - ymin)
            mask = Image.new("L", (lw * 2, eh * 2), 0)
            poly = [(x * 2, (y - ymin) * 2) for x, y in pts]
            poly += [(lw * 2 + 2, eh * 2 + 2), (-2, eh * 2 + 2)]
            ImageDraw.Draw(mask).polygon(poly, fill=255)
            mask = mask.reduce(2)
            shade = _mix(colour, (0, 0, 0), 0.25 * depth)
            band_rgb = _vgradient(lw, eh, [(0.0, _mix(colour, st.sun, 0.12)), (1.0, colour)])
            edge = _Sprite(band_rgb, mask)
            x_of = self._x_path(speed, travel)
            self.items.append((edge, _bobbing(x_of, ymin, bob)))
            bh = body_bottom - (ymin + eh)
            if bh > 0:
                body = _Sprite(_vgradient(lw, bh, [(0.0, colour), (1.0, shade)]))
                self.items.append((body, _bobbing(x_of, ymin + eh, bob)))

    @staticmethod
    def _x_path(speed: float, travel: int) -> Callable[[float], int]:
        if speed >= 0:  # content moves left (camera pans right)
            return lambda t: -min(travel, round(speed * t))
        return lambda t: -travel + min(travel, round(-speed * t))

    def render_rgb(self, t: float = 0.0) -> _PILImage.Image:
        img = self.bg.copy()
        for spr, path in self.items:
            x, y = path(t)
            spr.paste_rgb(img, x, y)
        return img

    def bg_planes(self) -> _YUV:
        return _to_planes(self.bg)

    def render_yuv(self, planes: _YUV, t: float) -> None:
        for spr, path in self.items:
            x, y = path(t)
            spr.paste_yuv(planes, x, y)


# ---------------------------------------------------------------------------
# caption band, counter, progress bar
# ---------------------------------------------------------------------------

def _printable(text: str) -> str:
    """One line of drawable text: no control characters or lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _fit(text: str, font: _Font, max_w: float) -> str:
    """``text``, truncated with an ellipsis to fit ``max_w`` pixels."""
    if _text_len(font, text) <= max_w:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if _text_len(font, text[:mid] + "\u2026") <= max_w:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "\u2026"


def _wrap(text: str, font: _Font, max_w: float, max_lines: int) -> list[str]:
    ell = "\u2026"
    lines: list[str] = []
    cur = ""
    words = text.split(" ")
    i = 0
    overflow = False
    while i < len(words):
        word = words[i]
        cand = f"{cur} {word}" if cur else word
        if _text_len(font, cand) <= max_w:
            cur = cand
            i += 1
            continue
        if not cur:  # a single word wider than the line: break it
            cut = 1
            while cut < len(word) and _text_len(font, word[: cut + 1]) <= max_w:
                cut += 1
            lines.append(word[:cut])
            words[i] = word[cut:]
        else:
            lines.append(cur)
            cur = ""
        if len(lines) >= max_lines:
            overflow = True
            break
    if not overflow and cur:
        lines.append(cur)
    if overflow and lines:
        last = lines[-1]
        lines[-1] = _fit(last.rstrip() + ell, font, max_w)
    return lines or [""]


class _Caption:
    """Caption band (prompt, model, seed) at the bottom, rendered once."""

    def __init__(self, w: int, h: int, prompt: str, model: str, seed: int, accent: _RGB,
                 opacity: int = 190) -> None:
        from PIL import Image, ImageDraw

        m = min(w, h)
        fs = int(_clamp(round(m * 0.036), 10, 44))
        fm = max(9, round(fs * 0.78))
        pad = max(3, fs // 2)
        font, mfont = _font(fs), _font(fm)
        text = _printable(prompt) or "(empty prompt)"
        lh, mh = round(fs * 1.25), round(fm * 1.35)
        max_lines = 3 if h > w * 1.2 else 2
        max_lines = max(1, min(max_lines, int((h * 0.45 - mh - 2 * pad) // lh)))
        lines = _wrap(text, font, w - 2 * pad, max_lines)
        bh = min(h, pad + len(lines) * lh + mh + pad)
        bh += bh % 2
        band = Image.new("RGBA", (w, bh), (8, 8, 12, opacity))
        d = ImageDraw.Draw(band)
        y = pad
        for line in lines:
            d.text((pad, y), line, font=font, fill=(255, 255, 255, 255))
            y += lh
        meta = _fit(f"{_printable(model) or '(no model)'}  \u00b7  seed {seed}",
                    mfont, w - 2 * pad)
        d.text((pad, y + (mh - fm) // 3), meta, font=mfont,
               fill=(*_mix(accent, (255, 255, 255), 0.45), 255))
        tag = "runway-nb simulator"
        tw = _text_len(mfont, tag)
        if _text_len(mfont, meta) + tw + 3 * pad < w:
            d.text((w - pad - tw, y + (mh - fm) // 3), tag, font=mfont, fill=(150, 150, 160, 255))
        self.band = band
        self.y = h - bh
        rgb = band.convert("RGB")
        self.sprite = _Sprite(rgb, band.getchannel("A"))
        self.fs, self.pad, self.w, self.h = fs, pad, w, h

    def paste_rgb(self, img: _PILImage.Image) -> None:
        self.sprite.paste_rgb(img, 0, self.y)


class _VideoOverlay:
    """Caption band + progress bar + frame counter/timecode for video frames."""

    def __init__(self, w: int, h: int, prompt: str, model: str, seed: int, n: int, fps: int,
                 accent: _RGB) -> None:
        # more opaque than on stills: sources made by the simulator carry their own band
        self.cap = _Caption(w, h, prompt, model, seed, accent, opacity=220)
        self.n, self.fps, self.w, self.h = n, fps, w, h
        cap = self.cap
        self.bar_h = max(2, _even(cap.fs / 7))
        self.bar_y = cap.y - self.bar_h if cap.y >= self.bar_h else cap.y
        self.bar_yuv = _yuv(accent)
        fsz = max(9, round(cap.fs * 0.8))
        self.font = _font(fsz)
        self.digits = len(str(n))
        sample = self._label(n - 1).replace("1", "8")
        pad = max(2, fsz // 3)
        self.box_w = min(w - (w % 2), _even(_text_len(self.font, sample) + 2 * pad + 1))
        self.box_h = min(h - (h % 2), _even(fsz * 1.35 + 1))
        self.box_x = self.box_y = min(_even(cap.pad), max(0, _even(min(w, h) * 0.02)))
        self.text_pad = pad
        self.box_bg = _yuv((16, 16, 20))[0]

    def _label(self, i: int) -> str:
        t = i / self.fps
        mm, ss = divmod(t, 60)
        return f"{int(mm):02d}:{ss:05.2f}  {i + 1:>{self.digits}d}/{self.n}"

    def apply(self, planes: _YUV, i: int) -> None:
        from PIL import Image, ImageDraw

        Y, U, V = planes
        self.cap.sprite.paste_yuv(planes, 0, self.cap.y)
        # progress bar
        bw = _even(self.w * (i + 1) / self.n)
        if bw > 0:
            y0, y1 = self.bar_y, self.bar_y + self.bar_h
            by, bu, bv = self.bar_yuv
            Y.paste(by, (0, y0, bw, y1))
            U.paste(bu, (0, y0 // 2, bw // 2, y1 // 2))
            V.paste(bv, (0, y0 // 2, bw // 2, y1 // 2))
        # frame counter / timecode (opaque box: no masks needed)
        box = Image.new("L", (self.box_w, self.box_h), self.box_bg)
        ImageDraw.Draw(box).text((self.text_pad, self.box_h * 0.12), self._label(i), font=self.font, fill=235)
        x, y = self.box_x, self.box_y
        Y.paste(box, (x, y))
        U.paste(128, (x // 2, y // 2, (x + self.box_w) // 2, (y + self.box_h) // 2))
        V.paste(128, (x // 2, y // 2, (x + self.box_w) // 2, (y + self.box_h) // 2))


# ---------------------------------------------------------------------------
# image decoding / fitting
# ---------------------------------------------------------------------------

def _open_image(data: bytes, target: tuple[int, int] | None = None) -> _PILImage.Image:
    from PIL import Image, ImageOps

    img: _PILImage.Image
    try:
        img = opened = Image.open(io.BytesIO(data))
        if target is not None and opened.format == "JPEG":
            opened.draft("RGB", target)
        opened.load()
    except Exception as exc:  # PIL raises many kinds (incl. DecompressionBombError)
        raise ValueError(f"could not decode image ({type(exc).__name__}: {exc})") from None
    with contextlib.suppress(Exception):  # broken EXIF: keep the pixels as they are
        img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (0, 0, 0))
        flat.paste(rgba, (0, 0), rgba)
        return flat
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def decode_image(data: bytes) -> _PILImage.Image:
    """Decode PNG/JPEG/WebP/... bytes into an RGB PIL image (EXIF orientation
    applied, transparency flattened onto black). Raises ValueError if the
    bytes are not a decodable image."""
    return _open_image(_as_bytes(data, "image data"))


def _cover(img: _PILImage.Image, w: int, h: int) -> _PILImage.Image:
    """Scale+centre-crop ``img`` so it exactly covers w x h."""
    from PIL import Image

    sw, sh = img.size
    s = max(w / sw, h / sh)
    nw, nh = max(w, round(sw * s)), max(h, round(sh * s))
    img = img.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    x, y = (nw - w) // 2, (nh - h) // 2
    return img.crop((x, y, x + w, y + h))


def _fit_canvas(img: _PILImage.Image, w: int, h: int) -> _PILImage.Image:
    """Cover-fit, or (for very different aspect ratios) a letterbox over a
    blurred, darkened cover-fit of the same image."""
    from PIL import Image, ImageFilter

    sw, sh = img.size
    ratio = (sw / sh) / (w / h)
    if 1 / 1.6 <= ratio <= 1.6:
        return _cover(img, w, h)
    small = _cover(img, max(2, w // 8), max(2, h // 8))
    small = small.filter(ImageFilter.GaussianBlur(2))
    bg = small.resize((w, h), Image.Resampling.BILINEAR).point(lambda v: v * 55 // 100)
    s = min(w / sw, h / sh)
    fw, fh = max(1, round(sw * s)), max(1, round(sh * s))
    fg = img.resize((fw, fh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    bg.paste(fg, ((w - fw) // 2, (h - fh) // 2))
    return bg


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

_IMAGE_SAVE = {"png": ("PNG", {"compress_level": 1}), "jpeg": ("JPEG", {"quality": 92}),
               "webp": ("WEBP", {"quality": 90, "method": 0})}


def render_image(width: int, height: int, *, prompt: str, model: str, seed: int,
                 source: bytes | None = None, image_format: str = "png") -> bytes:
    """PNG bytes of exactly width x height (or JPEG, WebP: ``image_format`` "jpeg", "webp").

    Without ``source`` the picture is a scene derived from the prompt and seed;
    with ``source`` (reference image bytes) the source is cover-fitted and
    tinted/decorated by the same style.  Both carry a caption band with the
    prompt, model and seed."""
    from PIL import Image

    w, h = _check_size(width, height, even=False)
    prompt, model, seed = _check_common(prompt, model, seed)
    style = _Style(prompt, seed)
    scene = _Scene(w, h, style)
    if source is None:
        img = scene.render_rgb(0.0)
    else:
        src = _fit_canvas(_open_image(_as_bytes(source, "source"), (w, h)), w, h)
        tint = scene.bg
        img = Image.blend(src, tint, 0.22)
        for spr, path in scene.items[:2]:  # glow + sun only
            x, y = path(0.0)
            spr.paste_rgb(img, x, y)
    if image_format not in _IMAGE_SAVE:
        raise ValueError(f"image_format must be one of {', '.join(_IMAGE_SAVE)}; got {image_format!r}")
    _Caption(w, h, prompt, model, seed, style.accent).paste_rgb(img)
    out = io.BytesIO()
    pil_format, options = _IMAGE_SAVE[image_format]
    img.save(out, format=pil_format, **options)
    return out.getvalue()


# ---------------------------------------------------------------------------
# video
# ---------------------------------------------------------------------------

_WRITE_THROUGH: bool | None = None


def _write_through() -> bool:
    """Can PIL images created with frombuffer() over an AVFrame plane be
    written in place?  (Checked once; otherwise frames are filled by copies.)"""
    global _WRITE_THROUGH
    if _WRITE_THROUGH is None:
        try:
            import av
            from PIL import Image

            f = av.VideoFrame(16, 16, "yuv420p")
            p = f.planes[0]
            size = (p.line_size, p.height)
            im = Image.frombuffer("L", size, p, "raw", "L", 0, 1)  # type: ignore[arg-type]  # a plane is a buffer
            im.readonly = 0
            im.paste(77, (0, 0, 4, 4))
            im.paste(Image.new("L", (2, 2), 99), (5, 5))
            data = bytes(p)
            _WRITE_THROUGH = data[0] == 77 and data[5 * p.line_size + 5] == 99
        except Exception:  # pragma: no cover - depends on PIL/PyAV internals
            _WRITE_THROUGH = False
    return _WRITE_THROUGH


class _Planes:
    """Y/U/V of an av.VideoFrame as PIL ``L`` images (line_size wide).

    Normally the images share the frame's memory, so pasting into them fills
    the frame with no extra copies; otherwise they are copies and
    :meth:`commit` writes them back."""

    __slots__ = ("_shared", "frame", "imgs")

    def __init__(self, frame: VideoFrame, *, fresh: bool = False) -> None:
        from PIL import Image

        self.frame = frame
        self._shared = _write_through()
        imgs = []
        for p in frame.planes:
            size = (p.line_size, p.height)
            if self._shared:
                im = Image.frombuffer("L", size, p, "raw", "L", 0, 1)  # type: ignore[arg-type]  # a plane is a buffer
                im.readonly = 0
            elif fresh:
                im = Image.new("L", size, 0)
            else:
                im = Image.frombuffer("L", size, p, "raw", "L", 0, 1).copy()  # type: ignore[arg-type]  # as above
            imgs.append(im)
        self.imgs: _YUV = (imgs[0], imgs[1], imgs[2])  # yuv420p: three planes

    def commit(self) -> VideoFrame:
        if not self._shared:
            for p, im in zip(self.frame.planes, self.imgs, strict=True):
                p.update(im.tobytes())
        return self.frame


def _new_frame(w: int, h: int) -> _Planes:
    import av

    return _Planes(av.VideoFrame(w, h, "yuv420p"), fresh=True)


def _sws_flags() -> Interpolation:
    """Bilinear swscale that gives the same bytes on every CPU."""
    from av.video.reformatter import Interpolation

    return Interpolation.BILINEAR | Interpolation.BITEXACT | Interpolation.ACCURATE_RND


def _open_encoder(buf: io.BytesIO, w: int, h: int, fps: int) -> tuple[OutputContainer, VideoStream]:
    from fractions import Fraction

    import av
    from av.video.stream import VideoStream

    container = av.open(buf, mode="w", format="mp4", options={"fflags": "+bitexact"})
    last_exc: Exception | None = None
    for codec, opts in (("libx264", {"preset": "ultrafast", "crf": "26"}),
                        ("libopenh264", {}), ("h264", {})):
        try:
            stream = container.add_stream(codec, rate=fps, options=opts)
            break
        except Exception as exc:  # codec not built in
            last_exc = exc
    else:  # pragma: no cover - depends on the FFmpeg build
        container.close()
        raise RuntimeError(f"no H.264 encoder available in PyAV: {last_exc}")
    assert isinstance(stream, VideoStream)  # an H.264 encoder's stream
    stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
    cc = stream.codec_context
    cc.time_base = Fraction(1, fps)
    cc.gop_size = max(1, 2 * fps)
    # a fixed thread count: the bytes must not depend on the machine's CPU count
    # (x264's pictures don't, but its SEI options string records "threads=N")
    cc.thread_count = 2
    cc.thread_type = "FRAME"
    cc.color_range = 1       # MPEG / limited
    cc.color_primaries = 1   # BT.709
    cc.color_trc = 1
    cc.colorspace = 1
    return container, stream


def _encode(w: int, h: int, fps: int, n: int, frames: Iterator[VideoFrame]) -> bytes:
    """Encode ``n`` yuv420p av.VideoFrames (w x h) into MP4 bytes, moov first."""
    from fractions import Fraction

    buf = io.BytesIO()
    container, stream = _open_encoder(buf, w, h, fps)
    tb = Fraction(1, fps)
    count = 0
    try:
        for frame in frames:
            frame.pts = count
            frame.time_base = tb
            for packet in stream.encode(frame):
                container.mux(packet)
            count += 1
            if count >= n:
                break
        if count != n:  # pragma: no cover - producers always give n frames
            raise RuntimeError(f"internal error: produced {count} of {n} frames")
        for packet in stream.encode(None):
            container.mux(packet)
    finally:
        if hasattr(frames, "close"):
            frames.close()
        container.close()
    return _faststart(buf.getvalue())


def _t2v_frames(w: int, h: int, fps: int, n: int, style: _Style, scene: _Scene,
                overlay: _VideoOverlay) -> Iterator[VideoFrame]:
    base = scene.bg_planes()
    for i in range(n):
        fp = _new_frame(w, h)
        for dst, src in zip(fp.imgs, base, strict=True):
            dst.paste(src, (0, 0))
        scene.render_yuv(fp.imgs, i / fps)
        overlay.apply(fp.imgs, i)
        yield fp.commit()


def _i2v_frames(w: int, h: int, fps: int, n: int, style: _Style, source: bytes,
                overlay: _VideoOverlay) -> Iterator[VideoFrame]:
    from PIL import Image

    src = _open_image(_as_bytes(source, "source_image"),
                      (int(w * _Z_MAX) + 2, int(h * _Z_MAX) + 2))
    cw, ch = _even(w * _Z_MAX + 1), _even(h * _Z_MAX + 1)
    canvas = _fit_canvas(src, cw, ch)
    # light grade in the style's palette so the seed shows even on a photo
    canvas = Image.blend(canvas, _vgradient(cw, ch, [(0.0, style.sky_top), (1.0, style.horizon)]), 0.08)
    cy, cu, cv = _to_planes(canvas)
    sws = _sws_flags()
    fx0, fy0, fx1, fy1 = style.pan
    z0, z1 = (1.0, _Z_MAX) if style.zoom_in else (_Z_MAX, 1.0)
    last = max(n - 1, 1)
    for i in range(n):
        p = _smooth(i / last)
        z = z0 + (z1 - z0) * p
        ww = min(cw, max(2, _even(w * _Z_MAX / z)))
        wh = min(ch, max(2, _even(h * _Z_MAX / z)))
        fx, fy = fx0 + (fx1 - fx0) * p, fy0 + (fy1 - fy0) * p
        x0 = min(cw - ww, max(0, _even((cw - ww) * fx)))
        y0 = min(ch - wh, max(0, _even((ch - wh) * fy)))
        win = _new_frame(ww, wh)
        wy, wu, wv = win.imgs
        wy.paste(cy, (-x0, -y0))
        wu.paste(cu, (-(x0 // 2), -(y0 // 2)))
        wv.paste(cv, (-(x0 // 2), -(y0 // 2)))
        frame = win.commit()
        if (ww, wh) != (w, h):
            frame = frame.reformat(w, h, "yuv420p", interpolation=sws, threads=1)
        fp = _Planes(frame)
        overlay.apply(fp.imgs, i)
        yield fp.commit()


class _SourceEnd:
    """The last item of :func:`_iter_decoded`: how long one source frame lasts."""

    __slots__ = ("frame_duration",)

    def __init__(self, frame_duration: float):
        self.frame_duration = frame_duration


def _iter_decoded(data: bytes) -> Generator[tuple[float, VideoFrame] | _SourceEnd, None, None]:
    """Yield (t, frame) for the first video stream, t relative to the first frame;
    finally yields ``_SourceEnd(frame_duration)``."""
    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except Exception as exc:
        raise ValueError(f"could not open source video ({type(exc).__name__}: {exc})") from None
    try:
        streams = container.streams.video
        if not streams:
            raise ValueError("source video has no video stream")
        stream = streams[0]
        rate = stream.average_rate or stream.guessed_rate or 24
        fdur = 1.0 / float(rate)
        t0: float | None = None
        k = 0
        try:
            for frame in container.decode(stream):
                t = frame.time if frame.time is not None else k * fdur
                if t0 is None:
                    t0 = t
                yield t - t0, frame
                k += 1
        except av.FFmpegError as exc:
            if k == 0:
                raise ValueError(f"could not decode source video ({exc})") from None
        if k == 0:
            raise ValueError("source video has no decodable frames")
        yield _SourceEnd(fdur)
    finally:
        container.close()


_MEMO_PIXELS = 40_000_000  # keep a short source's decoded frames (~60 MB) for looping


def _source_schedule(data: bytes, fps: int, n: int) -> Iterator[tuple[tuple[int, int], VideoFrame]]:
    """Yield (key, frame) for each of the n output frames: the source frame
    shown at that output time, looping the source when it is shorter.
    Short sources are kept in memory; long ones are decoded again per loop."""
    eps = 1e-6
    out_i = 0
    base = 0.0
    loop = 0
    memo: list[tuple[float, VideoFrame] | _SourceEnd] = []
    memo_ok = True
    pixels = 0
    while out_i < n:
        source = iter(memo) if (loop and memo_ok) else _iter_decoded(data)
        cur: VideoFrame | None = None
        cur_key = (loop, 0)
        last_t = 0.0
        loop_len = 0.0
        count = 0
        try:
            for item in source:
                if loop == 0 and memo_ok:
                    if not isinstance(item, _SourceEnd):
                        pixels += item[1].width * item[1].height
                    if pixels > _MEMO_PIXELS:
                        memo_ok = False
                        memo.clear()
                    else:
                        memo.append(item)
                if isinstance(item, _SourceEnd):  # end of source
                    loop_len = max(last_t + item.frame_duration, item.frame_duration)
                    break
                t, fr = item
                while cur is not None and out_i < n and out_i / fps - base < t - eps:
                    yield cur_key, cur
                    out_i += 1
                if out_i >= n:
                    return
                cur, cur_key, last_t = fr, (loop, count), t
                count += 1
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        assert cur is not None  # a source without frames raised in _iter_decoded
        if count == 1:  # a still: hold it for the rest
            while out_i < n:
                yield cur_key, cur
                out_i += 1
            return
        while out_i < n and out_i / fps - base < loop_len - eps:
            yield cur_key, cur
            out_i += 1
        base += loop_len
        loop += 1


def _grade_luts(style: _Style) -> tuple[list[int], list[int], list[int]]:
    g = style.grade
    ylut = []
    for v in range(256):
        x = _clamp((v - 16) / 219.0, 0.0, 1.0)
        if g == "film":  # gentle S-curve, lifted blacks
            x = 0.04 + 0.92 * (x * x * (3 - 2 * x) * 0.7 + x * 0.3)
        elif g == "poster":  # soft posterize: steep but continuous steps
            q = x * 5
            fl = math.floor(q)
            fr = _clamp((q - fl - 0.5) / 0.35 + 0.5, 0.0, 1.0)
            x = (fl + fr * fr * (3 - 2 * fr)) / 5
        else:  # duotone
            x = x ** 0.9
        ylut.append(round(16 + 219 * _clamp(x, 0, 1)))
    dark, light = _yuv(_mix(style.land, (0, 0, 0), 0.4)), _yuv(style.sun)
    mid = _yuv(style.accent)
    ulut, vlut = [], []
    for v in range(256):
        x = _clamp((v - 16) / 219.0, 0.0, 1.0)
        if x < 0.5:
            a, b, t = dark, mid, x * 2
        else:
            a, b, t = mid, light, (x - 0.5) * 2
        ulut.append(round(a[1] + (b[1] - a[1]) * t))
        vlut.append(round(a[2] + (b[2] - a[2]) * t))
    return ylut, ulut, vlut


def _v2v_frames(w: int, h: int, fps: int, n: int, style: _Style, source: bytes,
                overlay: _VideoOverlay) -> Iterator[VideoFrame]:
    from PIL import Image

    data = _as_bytes(source, "source_video")
    ylut, ulut, vlut = _grade_luts(style)
    sat = 1.25 if style.grade == "film" else 1.5
    c, s = math.cos(style.hue_turn) * sat, math.sin(style.hue_turn) * sat
    # (U, V, U) -> (U', V', 0): rotate (and saturate) chroma around neutral grey
    rot = (c, -s, 0.0, 128.0 - 128.0 * (c - s),
           s, c, 0.0, 128.0 - 128.0 * (s + c),
           0.0, 0.0, 0.0, 128.0)
    sws = _sws_flags()
    cache_key: tuple[int, int] | None = None
    cache: _YUV | None = None
    for i, (key, frame) in enumerate(_source_schedule(data, fps, n)):
        if key != cache_key:
            sw, sh = frame.width, frame.height
            sc = max(w / sw, h / sh)
            cw, ch = max(w, _even(sw * sc + 1)), max(h, _even(sh * sc + 1))
            if (frame.format.name == "yuv420p" and (sw, sh) == (cw, ch)
                    and int(frame.colorspace) in (1, 2) and int(frame.color_range) in (0, 1)):
                f = frame  # already BT.709 (or untagged) limited-range 4:2:0 at size
            else:
                try:
                    f = frame.reformat(cw, ch, "yuv420p", interpolation=sws,
                                       dst_colorspace="ITU709", dst_color_range="MPEG",
                                       threads=1)
                except Exception:  # unusual source colour metadata
                    f = frame.reformat(cw, ch, "yuv420p", interpolation=sws, threads=1)
            py, pu, pv = _Planes(f).imgs
            ox, oy = _even(max(0, cw - w) / 2), _even(max(0, ch - h) / 2)
            ox, oy = min(ox, cw - w), min(oy, ch - h)
            y = py.crop((ox, oy, ox + w, oy + h)).point(ylut)
            box_c = (ox // 2, oy // 2, ox // 2 + w // 2, oy // 2 + h // 2)
            u, v = pu.crop(box_c), pv.crop(box_c)
            if style.grade == "duotone":
                yh = y.reduce(2)
                u = Image.blend(u, yh.point(ulut), 0.75)
                v = Image.blend(v, yh.point(vlut), 0.75)
            else:
                u, v, _ = Image.merge("RGB", (u, v, u)).convert("RGB", rot).split()
            cache_key, cache = key, (y, u, v)
        assert cache is not None  # made for the first frame
        fp = _new_frame(w, h)
        for dst, src in zip(fp.imgs, cache, strict=True):
            dst.paste(src, (0, 0))
        overlay.apply(fp.imgs, i)
        yield fp.commit()


def render_video(width: int, height: int, duration: float, *, prompt: str, model: str,
                 seed: int, fps: int = 24, source_image: bytes | None = None,
                 source_video: bytes | None = None) -> bytes:
    """H.264 MP4 bytes (yuv420p, BT.709, plays in Chromium), exactly width x height,
    exactly round(duration*fps) frames at ``fps`` so its duration is exact.

    * no source: an animated scene derived from prompt+seed (text_to_video);
    * ``source_image``: Ken Burns pan/zoom over the image (image_to_video);
    * ``source_video``: the source's frames, colour graded per seed, resized
      (cover) to the output size and looped if shorter (video_to_video).
    All carry a caption band (prompt, model, seed), a progress bar and a
    frame counter / timecode."""
    w, h = _check_size(width, height, even=True)
    prompt, model, seed = _check_common(prompt, model, seed)
    fps = _check_int("fps", fps)
    if not 1 <= fps <= _MAX_FPS:
        raise ValueError(f"fps must be between 1 and {_MAX_FPS}, got {fps}")
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise ValueError(f"duration must be a number of seconds, got {duration!r}")
    if not math.isfinite(duration) or duration <= 0:
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    n = round(duration * fps)
    if n < 1:
        raise ValueError(f"duration {duration!r}s is shorter than one frame at {fps} fps")
    if source_image is not None and source_video is not None:
        raise ValueError("give at most one of source_image and source_video")
    style = _Style(prompt, seed)
    overlay = _VideoOverlay(w, h, prompt, model, seed, n, fps, style.accent)
    if source_video is not None:
        frames = _v2v_frames(w, h, fps, n, style, source_video, overlay)
    elif source_image is not None:
        frames = _i2v_frames(w, h, fps, n, style, source_image, overlay)
    else:
        scene = _Scene(w, h, style, n / fps)
        frames = _t2v_frames(w, h, fps, n, style, scene, overlay)
    return _encode(w, h, fps, n, frames)


# ---------------------------------------------------------------------------
# MP4 "faststart": move the moov atom in front of mdat
# ---------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"dinf"}


def _boxes(data: bytes | bytearray, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack_from(">I4s", data, pos)
        hdr = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr or pos + size > end:
            raise ValueError("malformed MP4 box")
        yield typ, pos, hdr, pos + size
        pos += size


def _shift_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for typ, pos, hdr, stop in _boxes(moov, start, end):
        if typ in _CONTAINERS:
            _shift_offsets(moov, pos + hdr, stop, delta)
        elif typ in (b"stco", b"co64"):
            body = pos + hdr + 4  # skip version/flags
            (count,) = struct.unpack_from(">I", moov, body)
            fmt, width = (">I", 4) if typ == b"stco" else (">Q", 8)
            off = body + 4
            for _ in range(count):
                (v,) = struct.unpack_from(fmt, moov, off)
                v += delta
                if typ == b"stco" and v >= 1 << 32:
                    raise OverflowError("chunk offset overflow")
                struct.pack_into(fmt, moov, off, v)
                off += width


def _faststart(data: bytes) -> bytes:
    """Return ``data`` with the moov box moved right after ftyp (as ffmpeg's
    ``-movflags +faststart`` does), so browsers can play before downloading
    everything. Returns the input unchanged if it is already laid out so or
    cannot be parsed."""
    try:
        top = list(_boxes(data, 0, len(data)))
        types = [b[0] for b in top]
        if b"moov" not in types or b"mdat" not in types:
            return data
        mi, di = types.index(b"moov"), types.index(b"mdat")
        if mi < di:
            return data
        _, mpos, _, mend = top[mi]
        moov = bytearray(data[mpos:mend])
        _shift_offsets(moov, 8, len(moov), len(moov))
    except (ValueError, OverflowError, struct.error):
        return data
    insert = top[0][3] if types[0] == b"ftyp" else 0
    return data[:insert] + bytes(moov) + data[insert:mpos] + data[mend:]


# ---------------------------------------------------------------------------
# probe
# ---------------------------------------------------------------------------

def probe(data: bytes) -> MediaInfo:
    """Describe media bytes.

    Images: ``{'kind': 'image', 'width', 'height', 'format'}`` (format as PIL
    names it: 'PNG', 'JPEG', 'WEBP', ...).  Videos: ``{'kind': 'video',
    'width', 'height', 'frames', 'fps', 'duration', 'codec'}`` (fps is an int
    when integral, duration in seconds).  Raises ValueError for anything else."""
    data = _as_bytes(data, "media data")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as img:
            return {"kind": "image", "width": img.width, "height": img.height,
                    "format": img.format}
    except Exception:
        pass
    from fractions import Fraction

    import av

    try:
        container = av.open(io.BytesIO(data), mode="r")
    except Exception as exc:
        raise ValueError(f"not a recognised image or video ({type(exc).__name__}: {exc})") from None
    try:
        if not container.streams.video:
            raise ValueError("media has no video stream")
        stream = container.streams.video[0]
        cc = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        frames = stream.frames
        if not frames:
            frames = sum(1 for pkt in container.demux(stream) if pkt.size)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        elif rate:
            duration = frames / float(rate)
        else:
            duration = 0.0
        fps: int | float | None
        if rate is None:
            fps = None
        elif Fraction(rate).denominator == 1:
            fps = int(rate)
        else:
            fps = float(rate)
        return {"kind": "video", "width": cc.width, "height": cc.height,
                "frames": int(frames), "fps": fps, "duration": round(duration, 6),
                "codec": cc.name}
    finally:
        container.close()


# ---------------------------------------------------------------------------
# image upscale
# ---------------------------------------------------------------------------

_UPSCALE_MAX_FACTOR = 16


def upscale_image(source: bytes, factor: int, *, max_side: int = 4096) -> bytes:
    """``source`` really enlarged ``factor`` times (Pillow's Lanczos), but no more than makes its
    long side ``max_side``; JPEG when the input is a JPEG, PNG otherwise (transparency kept)."""
    from PIL import Image, ImageOps

    factor = _check_int("factor", factor)
    if not 1 <= factor <= _UPSCALE_MAX_FACTOR:
        raise ValueError(f"factor must be between 1 and {_UPSCALE_MAX_FACTOR}, got {factor}")
    max_side = _check_int("max_side", max_side)
    if not 1 <= max_side <= _MAX_SIDE:
        raise ValueError(f"max_side must be between 1 and {_MAX_SIDE}, got {max_side}")
    data = _as_bytes(source, "source")
    img: _PILImage.Image
    try:
        img = opened = Image.open(io.BytesIO(data))
        opened.load()
    except Exception as exc:  # PIL raises many kinds (incl. DecompressionBombError)
        raise ValueError(f"could not decode image ({type(exc).__name__}: {exc})") from None
    is_jpeg = opened.format == "JPEG"
    with contextlib.suppress(Exception):  # broken EXIF: keep the pixels as they are
        img = ImageOps.exif_transpose(img)
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    img = img.convert("RGBA" if has_alpha and not is_jpeg else "RGB")
    w, h = img.size
    scale = min(float(factor), max_side / max(w, h))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size != (w, h):
        img = img.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if is_jpeg:
        img.save(out, format="JPEG", quality=92)
    else:
        img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


# ---------------------------------------------------------------------------
# HDR: SDR video re-encoded as HDR10 (BT.2020 primaries, PQ, 10 bits)
# ---------------------------------------------------------------------------

# AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace numbers
HDR_PRIMARIES_BT2020 = 9
HDR_TRC_SMPTE2084 = 16  # PQ
HDR_TRC_ARIB_STD_B67 = 18  # HLG
HDR_COLORSPACE_BT2020NC = 9
#: The transfer of an HDR video: PQ (HDR10) or HLG.
HdrTransfer = Literal["pq", "hlg"]
HDR_TRC: dict[HdrTransfer, int] = {"pq": HDR_TRC_SMPTE2084, "hlg": HDR_TRC_ARIB_STD_B67}
SDR_WHITE_NITS = 203.0  # ITU-R BT.2408: SDR reference white in an HDR signal
_HLG_PEAK_NITS = 1000.0  # the nominal HLG display that SDR white is placed on
_HLG_A, _HLG_B, _HLG_C = 0.17883277, 0.28466892, 0.55991073  # ARIB STD-B67 OETF constants
# linear BT.709 RGB -> linear BT.2020 RGB (ITU-R BT.2087)
BT709_TO_BT2020 = ((0.6274, 0.3293, 0.0433), (0.0691, 0.9195, 0.0114), (0.0164, 0.0880, 0.8956))
# HDR10 static metadata: a P3-D65 1000-nit mastering display (as most HDR10 masters declare),
# and the content's light levels (SDR white is the brightest a converted picture gets)
_X264_HDR10 = ("mastering-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):"
               f"cll={int(SDR_WHITE_NITS)},{int(SDR_WHITE_NITS)}")
# ProRes profiles by the names Runway's ``proresProfile`` uses -> (prores_ks profile, pixel format)
PRORES_PROFILES = {"422 Proxy": ("proxy", "yuv422p10le"), "422 LT": ("lt", "yuv422p10le"),
                   "422": ("standard", "yuv422p10le"), "422 HQ": ("hq", "yuv422p10le"),
                   "4444": ("4444", "yuv444p10le"), "4444 XQ": ("4444xq", "yuv444p10le")}


@lru_cache(maxsize=2)
def _hdr_luts(transfer: HdrTransfer = "pq") -> tuple[NDArray[np.uint16], NDArray[np.uint16]]:
    """(per output channel and input channel, 8-bit code -> linear light in 1/65533ths of SDR
    white, already weighted by the BT.709->BT.2020 matrix; linear 16-bit -> 10-bit signal code of
    ``transfer``). Each output row of the matrix sums to 1, so three looked-up terms add up within
    16 bits. PQ puts SDR white at 203 nits; HLG puts it at 203 nits of a 1000-nit display through
    the inverse HLG OOTF (system gamma 1.2), which lands it at 75 % signal (ITU-R BT.2408)."""
    import numpy as np

    linear = (np.arange(256) / 255.0) ** 2.4  # BT.1886: how an SDR display shows the codes
    matrix = np.asarray(BT709_TO_BT2020)
    to_2020 = np.floor(matrix[:, :, None] * linear[None, None, :] * 65533).astype(np.uint16)
    light = np.arange(65536) / 65535.0  # relative to SDR white
    if transfer == "pq":
        m1, m2 = 2610 / 16384, 2523 / 4096 * 128
        c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
        y = (light * SDR_WHITE_NITS / 10000.0) ** m1
        signal = ((c1 + c2 * y) / (1 + c3 * y)) ** m2
    else:
        scene = (light * SDR_WHITE_NITS / _HLG_PEAK_NITS) ** (1 / 1.2)  # inverse OOTF: display -> scene light
        with np.errstate(invalid="ignore", divide="ignore"):  # the log branch is only used above 1/12
            log_part = _HLG_A * np.log(np.maximum(12 * scene - _HLG_B, 1e-12)) + _HLG_C
        signal = np.where(scene <= 1 / 12, np.sqrt(3 * scene), log_part)
    codes = np.round(np.clip(signal, 0.0, 1.0) * 1023).astype(np.uint16)  # full-range 10-bit R'G'B'
    return to_2020, codes


def _plane_array(plane: VideoPlane, dtype: type[np.uint8] | type[np.uint16]) -> NDArray[np.generic]:
    """A frame's plane as a (height, line size) array sharing its memory (writes go to the frame)."""
    import numpy as np

    flat: NDArray[np.generic] = np.frombuffer(plane, dtype=dtype)  # type: ignore[call-overload]  # a plane is a buffer
    return flat.reshape(plane.height, -1)


def _hdr_frame(frame: VideoFrame, w: int, h: int, transfer: HdrTransfer = "pq",
               pix_fmt: str = "yuv420p10le") -> VideoFrame:
    """One SDR (BT.709) frame as a BT.2020 ``transfer`` frame of w x h (cropped to even) in
    ``pix_fmt`` (10-bit, limited range)."""
    import av
    import numpy as np

    to_2020, signal = _hdr_luts(transfer)
    rgb = frame.reformat(format="gbrp", interpolation=_sws_flags(), threads=1)
    g, b, r = (_plane_array(p, np.uint8)[:h, :w] for p in rgb.planes)  # gbrp: planes G, B, R
    out = av.VideoFrame(w, h, "gbrp10le")
    og, ob, orr = (_plane_array(p, np.uint16)[:h, :w] for p in out.planes)
    for dst, row in ((orr, 0), (og, 1), (ob, 2)):
        lin = to_2020[row, 0][r]
        lin += to_2020[row, 1][g]
        lin += to_2020[row, 2][b]
        np.take(signal, lin, out=dst)
    hdr = out.reformat(format=pix_fmt, dst_colorspace="BT2020", dst_color_range="MPEG",
                       interpolation=_sws_flags(), threads=1)
    # tagged on the frame too: some encoders (ProRes) write the frame's tags into each frame header
    hdr.color_primaries, hdr.color_trc = HDR_PRIMARIES_BT2020, HDR_TRC[transfer]
    return hdr


def _hdr_codec() -> tuple[str, str]:
    """(encoder, pixel format): 10-bit H.264 when this PyAV's x264 has it, else 10-bit HEVC, else
    8-bit H.264 (still tagged HDR)."""
    import av

    for codec in ("libx264", "libx265"):
        if codec in av.codecs_available:
            formats = av.codec.Codec(codec, "w").video_formats or ()
            if any(f.name == "yuv420p10le" for f in formats):
                return codec, "yuv420p10le"
    return "libx264", "yuv420p"


def video_rate_and_size(source: bytes) -> tuple[Fraction, int, int]:
    """(frame rate, width, height) of ``source``'s first video stream; ValueError when it has none."""
    import av

    data = _as_bytes(source, "source_video")
    try:
        probe_container = av.open(io.BytesIO(data), mode="r")
    except Exception as exc:
        raise ValueError(f"could not open source video ({type(exc).__name__}: {exc})") from None
    with probe_container:
        if not probe_container.streams.video:
            raise ValueError("source video has no video stream")
        in_stream = probe_container.streams.video[0]
        rate = Fraction(in_stream.average_rate or in_stream.guessed_rate or 24).limit_denominator(1001)
        return rate, in_stream.codec_context.width, in_stream.codec_context.height


def video_frames(source: bytes) -> Iterator[VideoFrame]:
    """Every frame of ``source``'s first video stream, in order (ValueError when there are none)."""
    decoded = _iter_decoded(_as_bytes(source, "source_video"))
    try:
        for item in decoded:
            if isinstance(item, _SourceEnd):
                return
            yield item[1]
    finally:
        decoded.close()  # closes the container now, not when the generator is collected


def render_hdr_video(source: bytes, *, transfer: HdrTransfer = "pq", prores_profile: str | None = None) -> bytes:
    """``source`` re-encoded as HDR: BT.2020 primaries, ``transfer`` ("pq": SMPTE 2084, HDR10;
    "hlg": ARIB STD-B67), BT.2020 non-constant-luminance matrix, limited range, 10 bits. Without
    ``prores_profile``: 4:2:0 in an MP4 (H.264 High 10 where available; PQ with mastering-display
    and content-light SEI); with one (a key of :data:`PRORES_PROFILES`): ProRes in a MOV. The
    picture is converted, not just tagged: SDR white lands at 203 nits (ITU-R BT.2408). Same
    frames, frame rate and size (an odd side loses its last pixel: 4:2:0 needs even sides); an
    audio track is copied as it is."""
    import av
    from av.video.stream import VideoStream

    data = _as_bytes(source, "source_video")
    rate, sw, sh = video_rate_and_size(data)
    w, h = sw - sw % 2, sh - sh % 2
    if w < 2 or h < 2:
        raise ValueError(f"source video is too small for 4:2:0 ({sw}x{sh})")
    options: dict[str, str]
    if prores_profile is None:
        codec, pix_fmt = _hdr_codec()
        options = {"preset": "ultrafast", "crf": "22"}
        if codec == "libx264" and transfer == "pq":
            options["x264-params"] = _X264_HDR10
    else:
        if prores_profile not in PRORES_PROFILES:
            raise ValueError(f"prores_profile must be one of {', '.join(PRORES_PROFILES)}; got {prores_profile!r}")
        profile, pix_fmt = PRORES_PROFILES[prores_profile]
        codec, options = "prores_ks", {"profile": profile}

    def to_hdr(frame: VideoFrame) -> VideoFrame:
        frame = _hdr_frame(frame, w, h, transfer, pix_fmt if pix_fmt.endswith("10le") else "yuv420p10le")
        if pix_fmt != frame.format.name:
            frame = frame.reformat(format=pix_fmt, interpolation=_sws_flags(), threads=1)
        return frame

    buf = io.BytesIO()
    container = av.open(buf, mode="w", format="mp4" if prores_profile is None else "mov",
                        options={"fflags": "+bitexact"})
    try:
        stream = container.add_stream(codec, rate=rate, options=options)
        assert isinstance(stream, VideoStream)  # a video encoder's stream
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        cc = stream.codec_context
        cc.time_base = 1 / rate
        cc.gop_size = max(1, round(2 * rate))
        cc.thread_count = 2  # fixed: the bytes must not depend on the machine (see _open_encoder)
        cc.thread_type = "FRAME"
        cc.color_range = 1  # MPEG / limited
        cc.color_primaries = HDR_PRIMARIES_BT2020
        cc.color_trc = HDR_TRC[transfer]
        cc.colorspace = HDR_COLORSPACE_BT2020NC
        mux_audio = copy_audio_track(data, container)
        encode_frames(container, stream, map(to_hdr, video_frames(data)))
        mux_audio()
    finally:
        container.close()
    return _faststart(buf.getvalue())


def encode_frames(container: OutputContainer, stream: VideoStream, frames: Iterable[VideoFrame]) -> None:
    """Encode ``frames`` into ``stream`` as one frame per tick of its time base, mux every packet
    into ``container`` and flush the encoder (its last packets come only after the input ends)."""
    time_base = stream.codec_context.time_base
    for count, frame in enumerate(frames):
        frame.pts = count
        frame.time_base = time_base
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


_MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "mp3float", "opus", "libopus", "ac3", "eac3", "alac", "flac"})


def copy_audio_track(source: bytes, container: OutputContainer) -> Callable[[], None]:
    """Add a copy of ``source``'s first audio track to ``container`` (an MP4 or MOV; streams must
    all exist before the first packet is muxed) and return what muxes its packets as they are, no
    re-encode. No audio track, or one MP4 cannot hold: nothing is added or muxed."""
    import av

    with av.open(io.BytesIO(source), mode="r") as src:
        # the MP4 muxer refuses other codecs only when it writes its header: too late to leave out
        if not src.streams.audio or src.streams.audio[0].codec_context.name not in _MP4_AUDIO_CODECS:
            return lambda: None
        try:
            out_audio = container.add_stream_from_template(src.streams.audio[0])
        except (ValueError, av.FFmpegError):  # no stream for it after all
            return lambda: None

    def mux() -> None:
        with av.open(io.BytesIO(source), mode="r") as again:
            for packet in again.demux(again.streams.audio[0]):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = out_audio
                container.mux(packet)

    return mux


# ---------------------------------------------------------------------------
# a sound track for a silent video (avatar videos speak)
# ---------------------------------------------------------------------------

AAC_SAMPLE_RATE = 48000


def add_audio_track(video: bytes, audio: bytes) -> bytes:
    """``video`` (a silent MP4) with ``audio`` as its sound track: the first audio track of
    ``audio`` (any file FFmpeg reads: MP3, WAV, FLAC, Ogg, M4A, or a video with sound) decoded and
    encoded as AAC-LC at 48 kHz (mono stays mono, more channels become stereo), the video's packets
    copied as they are. The sound keeps its own length. ValueError when ``audio`` has no sound."""
    import av
    from av.audio.stream import AudioStream

    video_data = _as_bytes(video, "video")
    audio_data = _as_bytes(audio, "audio")
    try:
        src = av.open(io.BytesIO(audio_data), mode="r")
    except Exception as exc:  # FFmpeg raises many kinds
        raise ValueError(f"could not open the audio ({type(exc).__name__}: {exc})") from None
    with src, av.open(io.BytesIO(video_data), mode="r") as vid:
        if not src.streams.audio:
            raise ValueError("the audio has no audio stream")
        if not vid.streams.video:
            raise ValueError("the video has no video stream")
        in_audio, in_video = src.streams.audio[0], vid.streams.video[0]
        layout = "mono" if in_audio.codec_context.channels == 1 else "stereo"
        buf = io.BytesIO()
        with av.open(buf, mode="w", format="mp4", options={"fflags": "+bitexact"}) as out:
            out_video = out.add_stream_from_template(in_video)
            out_audio = out.add_stream("aac", rate=AAC_SAMPLE_RATE, options={"aac_coder": "fast"})
            assert isinstance(out_audio, AudioStream)  # an audio encoder's stream
            out_audio.codec_context.layout = layout
            out_audio.codec_context.format = "fltp"
            out_audio.codec_context.bit_rate = 96_000 if layout == "mono" else 160_000
            for packet in vid.demux(in_video):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                packet.stream = out_video
                out.mux(packet)
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=AAC_SAMPLE_RATE)
            samples = 0
            decoded = 0
            try:
                for frame in src.decode(in_audio):
                    decoded += frame.samples
                    for chunk in resampler.resample(frame):
                        chunk.pts, samples = samples, samples + chunk.samples
                        for packet in out_audio.encode(chunk):
                            out.mux(packet)
            except av.FFmpegError as exc:
                if not decoded:
                    raise ValueError(f"could not decode the audio ({exc})") from None
            for chunk in resampler.resample(None):
                chunk.pts, samples = samples, samples + chunk.samples
                for packet in out_audio.encode(chunk):
                    out.mux(packet)
            for packet in out_audio.encode(None):
                out.mux(packet)
            if not decoded:
                raise ValueError("the audio has no samples")
    return _faststart(buf.getvalue())
