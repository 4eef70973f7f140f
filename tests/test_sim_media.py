"""Tests for runway_nb.sim.media: real PNG / H.264 MP4 output of the simulator."""

from __future__ import annotations

import base64
import io
import math
import subprocess
import sys
from pathlib import Path

import av
import pytest
from PIL import Image, ImageChops, ImageStat

from runway_nb.sim import media
from runway_nb.sim.media import decode_image, probe, render_image, render_video

PROMPT = "a quiet mountain lake at sunset, cinematic"


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def frames_of(data: bytes) -> list[Image.Image]:
    with av.open(io.BytesIO(data)) as c:
        return [f.to_image() for f in c.decode(video=0)]


def stream_info(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        cc = s.codec_context
        n = sum(1 for _ in c.decode(s))
        return {"codec": cc.name, "pix_fmt": cc.pix_fmt, "width": cc.width,
                "height": cc.height, "decoded": n, "rate": s.average_rate,
                "profile": cc.profile, "duration": float(s.duration * s.time_base)}


def mean_rgb(img: Image.Image, box=None) -> tuple[float, float, float]:
    if box is not None:
        img = img.crop(box)
    return tuple(ImageStat.Stat(img.convert("RGB")).mean)  # type: ignore[return-value]


def luma(img: Image.Image, box=None) -> float:
    if box is not None:
        img = img.crop(box)
    return ImageStat.Stat(img.convert("L")).mean[0]


def mean_abs_diff(a: Image.Image, b: Image.Image, box=None) -> float:
    if box is not None:
        a, b = a.crop(box), b.crop(box)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def png(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def make_video(colours, size=(63, 47), fps=10, fmt="mov", codec="png", pix_fmt="rgb24") -> bytes:
    """A small source video whose frames are solid colours."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = size[0], size[1], pix_fmt
        for i, col in enumerate(colours):
            f = av.VideoFrame.from_image(Image.new("RGB", size, col))
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return buf.getvalue()


def top_level_boxes(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        typ = data[pos + 4:pos + 8]
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        out.append(typ)
        pos += size
    return out


@pytest.fixture(scope="module")
def t2v_small() -> bytes:
    return render_video(192, 108, 1.0, prompt=PROMPT, model="gen4_turbo", seed=42)


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (1024, 1024), (101, 57), (1, 1), (3, 7)])
def test_image_exact_size_png(size):
    data = render_image(*size, prompt=PROMPT, model="gen4_image", seed=1)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "PNG"
        assert img.size == size
    assert probe(data) == {"kind": "image", "width": size[0], "height": size[1], "format": "PNG"}


def test_image_deterministic_and_seed_changes_picture():
    kw = dict(prompt=PROMPT, model="gen4_image")
    a = render_image(320, 180, seed=7, **kw)
    b = render_image(320, 180, seed=7, **kw)
    c = render_image(320, 180, seed=8, **kw)
    assert a == b
    assert a != c
    ia, ic = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(c))
    # visibly different picture, not just different caption digits
    assert mean_abs_diff(ia, ic, (0, 0, 320, 120)) > 8


def test_image_is_a_picture_not_flat():
    img = Image.open(io.BytesIO(render_image(320, 180, prompt="ocean waves", model="m", seed=3)))
    stat = ImageStat.Stat(img.convert("L").crop((0, 0, 320, 130)))
    assert stat.stddev[0] > 10  # gradient + shapes
    assert len(img.convert("RGB").getcolors(maxcolors=100000) or range(100001)) > 50


def test_image_caption_carries_prompt_model_and_seed():
    w, h = 480, 270
    base = Image.open(io.BytesIO(render_image(w, h, prompt=PROMPT, model="gen4_image", seed=5)))
    other_model = Image.open(io.BytesIO(render_image(w, h, prompt=PROMPT, model="gen4_image_turbo", seed=5)))
    # the scene depends only on prompt+seed: a different model changes only the caption band
    bbox = ImageChops.difference(base, other_model).getbbox()
    assert bbox is not None, "model name is not drawn"
    assert bbox[1] > h * 0.6, f"model change altered pixels outside the caption band: {bbox}"
    # the band is dark with bright text
    band = base.convert("L").crop((0, int(h * 0.85), w, h))
    assert ImageStat.Stat(band).median[0] < 60
    assert band.getextrema()[1] > 200
    # a different prompt changes the caption band (text) as well
    other_prompt = Image.open(io.BytesIO(render_image(w, h, prompt="a red fox", model="gen4_image", seed=5)))
    assert mean_abs_diff(base, other_prompt, (0, int(h * 0.85), w // 2, h)) > 1


def test_image_long_and_unusual_prompts():
    prompts = ["word " * 400, "x" * 2000, "", "  \n\t ", "ünïcödé 猫 🦊 — “quotes”",
               "lone \ud800 surrogate", "nul\x00 and \x1b[31m escapes"]
    for prompt in prompts:
        data = render_image(256, 144, prompt=prompt, model="m" * 300, seed=0)
        assert Image.open(io.BytesIO(data)).size == (256, 144)


def test_image_with_source_uses_it():
    red = png(Image.new("RGB", (37, 91), (230, 20, 20)))
    img = Image.open(io.BytesIO(render_image(320, 180, prompt="p", model="m", seed=1, source=red)))
    assert img.size == (320, 180)
    r, g, b = mean_rgb(img, (0, 0, 320, 120))
    assert r > 120 and r > 2 * g and r > 2 * b


# ---------------------------------------------------------------------------
# videos: geometry, frame count, codec
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "w,h,duration,fps,frames",
    [
        (1280, 720, 5, 24, 120),
        (720, 1280, 2, 24, 48),
        (1104, 832, 1, 24, 24),   # width not a multiple of 32: padded line sizes
        (960, 960, 0.5, 24, 12),
        (1584, 672, 0.25, 24, 6),
        (320, 240, 1.5, 30, 45),
        (64, 36, 0.04, 25, 1),
    ],
)
def test_video_exact_geometry_and_frames(w, h, duration, fps, frames):
    data = render_video(w, h, duration, prompt=PROMPT, model="gen4_turbo", seed=3, fps=fps)
    info = stream_info(data)
    assert info["codec"] == "h264"
    assert info["pix_fmt"] == "yuv420p"
    assert (info["width"], info["height"]) == (w, h)
    assert info["decoded"] == frames
    assert info["rate"] == fps
    assert math.isclose(info["duration"], frames / fps, abs_tol=1e-6)
    p = probe(data)
    assert p == {"kind": "video", "width": w, "height": h, "frames": frames, "fps": fps,
                 "duration": pytest.approx(frames / fps, abs=1e-6), "codec": "h264"}


def test_video_is_browser_friendly(t2v_small):
    boxes = top_level_boxes(t2v_small)
    assert boxes[0] == b"ftyp"
    assert boxes.index(b"moov") < boxes.index(b"mdat"), boxes  # faststart
    with av.open(io.BytesIO(t2v_small)) as c:
        cc = c.streams.video[0].codec_context
        assert cc.profile in ("Baseline", "Constrained Baseline", "Main", "High")
        assert cc.color_range == 1  # limited range, tagged
        assert cc.colorspace == 1   # BT.709, tagged
        frames = list(c.decode(video=0))
    assert frames[0].key_frame


def test_faststart_keeps_every_frame_decodable(t2v_small):
    frames = frames_of(t2v_small)
    assert len(frames) == 24
    assert all(f.size == (192, 108) for f in frames)


def test_default_fps_is_24():
    data = render_video(64, 36, 1, prompt="p", model="m", seed=0)
    assert probe(data)["fps"] == 24 and probe(data)["frames"] == 24


# ---------------------------------------------------------------------------
# videos: determinism, content
# ---------------------------------------------------------------------------

def test_video_deterministic_and_seed_sensitive(t2v_small):
    again = render_video(192, 108, 1.0, prompt=PROMPT, model="gen4_turbo", seed=42)
    assert again == t2v_small
    other = render_video(192, 108, 1.0, prompt=PROMPT, model="gen4_turbo", seed=43)
    assert other != t2v_small
    f1, f2 = frames_of(t2v_small)[0], frames_of(other)[0]
    assert mean_abs_diff(f1, f2, (0, 20, 192, 70)) > 5


def test_video_deterministic_across_processes(tmp_path):
    code = (
        "import hashlib, sys\n"
        "from runway_nb.sim.media import render_video\n"
        "d = render_video(128, 72, 0.5, prompt='p q', model='m', seed=9)\n"
        "print(hashlib.sha256(d).hexdigest())\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root, check=True).stdout.strip() for _ in range(2)}
    import hashlib

    here = hashlib.sha256(render_video(128, 72, 0.5, prompt="p q", model="m", seed=9)).hexdigest()
    assert out == {here}


def test_text_to_video_moves_and_has_counter(t2v_small):
    frames = frames_of(t2v_small)
    first, last = frames[0], frames[-1]
    w, h = first.size
    # the scene itself animates
    assert mean_abs_diff(first, last, (0, 25, w, int(h * 0.65))) > 0.5
    # the frame counter (top-left) changes from frame to frame
    assert mean_abs_diff(frames[3], frames[4], (0, 0, w // 2, 16)) > 0.5
    # the caption band is there in every frame: dark band with bright text
    for f in (first, last):
        band = f.convert("L").crop((0, int(h * 0.8), w, h))
        assert ImageStat.Stat(band).median[0] < 60
        assert band.getextrema()[1] > 180


def test_video_caption_shows_model():
    kw = dict(prompt=PROMPT, seed=11)
    a = frames_of(render_video(320, 180, 0.25, model="gen4_turbo", **kw))[0]
    b = frames_of(render_video(320, 180, 0.25, model="veo3", **kw))[0]
    band = (0, 150, 320, 180)
    above = (0, 30, 320, 120)
    assert mean_abs_diff(a, b, band) > 4 * max(mean_abs_diff(a, b, above), 0.05)


def test_image_to_video_uses_source_red():
    red = png(Image.new("RGB", (300, 200), (220, 30, 30)))
    data = render_video(320, 180, 1, prompt="p", model="gen4_turbo", seed=2, source_image=red)
    frames = frames_of(data)
    assert len(frames) == 24
    for f in (frames[0], frames[12], frames[-1]):
        r, g, b = mean_rgb(f, (0, 30, 320, 130))
        assert r > 150 and g < 80 and b < 80, (r, g, b)


def test_image_to_video_pans_and_zooms():
    # structured source so motion is measurable; odd size, JPEG, different aspect
    src = Image.linear_gradient("L").resize((301, 203)).convert("RGB")
    for x in range(0, 301, 30):
        src.paste((255, 200, 0), (x, 0, x + 6, 203))
    data = render_video(256, 144, 1, prompt="p", model="m", seed=4, source_image=png(src, "JPEG"))
    frames = frames_of(data)
    assert len(frames) == 24 and frames[0].size == (256, 144)
    region = (0, 24, 256, 100)
    assert mean_abs_diff(frames[0], frames[-1], region) > 3
    # smooth motion: neighbouring frames are much closer than first vs last
    assert mean_abs_diff(frames[11], frames[12], region) < mean_abs_diff(frames[0], frames[-1], region)


def test_image_to_video_letterboxes_extreme_aspect():
    tall = png(Image.new("RGB", (40, 400), (20, 200, 40)))
    f = frames_of(render_video(320, 180, 0.25, prompt="p", model="m", seed=1, source_image=tall))[0]
    r, g, _b = mean_rgb(f, (130, 40, 190, 120))
    assert g > 120 and g > 2 * r  # the source sits in the middle


def test_video_to_video_follows_source_frames_and_loops():
    # 0.7 s source: 4 bright frames then 3 dark frames at 10 fps, odd size, RGB codec
    src = make_video([(240, 240, 240)] * 4 + [(10, 10, 10)] * 3)
    data = render_video(160, 120, 2, prompt="p", model="gen4_aleph", seed=3, source_video=src)
    frames = frames_of(data)
    assert len(frames) == 48 and frames[0].size == (160, 120)
    region = (0, 25, 160, 80)
    lum = [luma(f, region) for f in frames]
    fps = 24
    for i, value in enumerate(lum):
        t = (i / fps) % 0.7
        if abs(t - 0.4) < 0.05 or t < 0.03 or t > 0.67:
            continue  # near a cut
        if t < 0.4:
            assert value > 150, (i, t, value)
        else:
            assert value < 60, (i, t, value)


def test_video_to_video_loop_paths_agree(monkeypatch):
    src = make_video([(240, 240, 240)] * 3 + [(10, 10, 10)] * 2 + [(200, 30, 30)] * 2)
    kw = dict(prompt="p", model="m", seed=6, source_video=src)
    memoised = render_video(96, 64, 2, **kw)
    monkeypatch.setattr(media, "_MEMO_PIXELS", 0)  # force re-decoding on every loop
    assert render_video(96, 64, 2, **kw) == memoised


def test_video_to_video_tiny_fast_source_terminates():
    src = make_video([(250, 250, 250), (5, 5, 5)], size=(16, 16), fps=1000)
    data = render_video(64, 36, 3, prompt="p", model="m", seed=1, source_video=src)
    assert probe(data)["frames"] == 72


def test_video_to_video_keeps_colour_relationship_and_grades_by_seed():
    red = make_video([(230, 30, 30)] * 5, pix_fmt="rgb24")
    blue = make_video([(30, 30, 230)] * 5, pix_fmt="rgb24")
    region = (0, 25, 160, 80)
    out_red = frames_of(render_video(160, 120, 0.5, prompt="p", model="m", seed=3, source_video=red))[5]
    out_blue = frames_of(render_video(160, 120, 0.5, prompt="p", model="m", seed=3, source_video=blue))[5]
    assert mean_abs_diff(out_red, out_blue, region) > 30
    # the grade depends on the seed
    out_red2 = frames_of(render_video(160, 120, 0.5, prompt="p", model="m", seed=4, source_video=red))[5]
    assert mean_abs_diff(out_red, out_red2, region) > 5


def test_video_to_video_from_h264_source(t2v_small):
    out = render_video(256, 144, 1.5, prompt="make it neon", model="gen4_aleph", seed=5,
                       source_video=t2v_small)
    frames = frames_of(out)
    assert len(frames) == 36 and frames[0].size == (256, 144)
    src_frames = frames_of(t2v_small)
    # the sun/glow of the source is where it was: luma pattern correlates
    a = src_frames[0].convert("L").resize((16, 9), Image.Resampling.BOX)
    b = frames[0].convert("L").resize((16, 9), Image.Resampling.BOX)
    xa, xb = list(a.tobytes())[16:96], list(b.tobytes())[16:96]
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    cov = sum((p - ma) * (q - mb) for p, q in zip(xa, xb, strict=True))
    va = math.sqrt(sum((p - ma) ** 2 for p in xa))
    vb = math.sqrt(sum((q - mb) ** 2 for q in xb))
    assert cov / (va * vb) > 0.6


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "args",
    [
        (1281, 720, 1.0), (1280, 719, 1.0), (0, 720, 1.0), (1280, 0, 1.0), (-2, 4, 1.0),
        (1280, 720, 0), (1280, 720, -1), (1280, 720, float("nan")), (1280, 720, float("inf")),
        (1280, 720, 0.01),  # rounds to zero frames
        (True, 720, 1.0), (12.0, 8, 1.0), (20000, 720, 1.0),
    ],
)
def test_video_rejects_bad_sizes_and_durations(args):
    with pytest.raises(ValueError):
        render_video(*args, prompt="p", model="m", seed=0)


def test_video_rejects_bad_fps_and_sources():
    with pytest.raises(ValueError):
        render_video(64, 36, 1, prompt="p", model="m", seed=0, fps=0)
    with pytest.raises(ValueError):
        render_video(64, 36, 1, prompt="p", model="m", seed=0, source_image=b"not an image")
    with pytest.raises(ValueError):
        render_video(64, 36, 1, prompt="p", model="m", seed=0, source_video=b"not a video" * 10)
    img = png(Image.new("RGB", (8, 8)))
    with pytest.raises(ValueError):
        render_video(64, 36, 1, prompt="p", model="m", seed=0, source_image=img, source_video=img)


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-1, 5), (20000, 10)])
def test_image_rejects_bad_sizes(size):
    with pytest.raises(ValueError):
        render_image(*size, prompt="p", model="m", seed=0)


# ---------------------------------------------------------------------------
# probe / decode_image
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_probe_images(fmt):
    data = png(Image.new("RGB", (33, 17), (1, 2, 3)), fmt)
    assert probe(data) == {"kind": "image", "width": 33, "height": 17, "format": fmt}


def test_probe_rejects_garbage():
    for bad in (b"", b"\x00" * 100, b"hello world"):
        with pytest.raises(ValueError):
            probe(bad)


def test_decode_image_variants():
    rgba = Image.new("RGBA", (5, 4), (255, 0, 0, 128))
    img = decode_image(png(rgba))
    assert img.mode == "RGB" and img.size == (5, 4)
    jpeg = decode_image(png(Image.new("RGB", (9, 7), (0, 0, 255)), "JPEG"))
    assert jpeg.size == (9, 7) and jpeg.getpixel((4, 3))[2] > 200
    uri = b"data:image/png;base64," + base64.b64encode(png(Image.new("L", (3, 3), 200)))
    assert decode_image(uri).size == (3, 3)
    with pytest.raises(ValueError):
        decode_image(b"definitely not an image")


def test_module_import_is_light():
    path = Path(media.__file__)
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(path)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "assert 'av' not in sys.modules and 'PIL' not in sys.modules, sorted(sys.modules)\n"
        "assert callable(mod.render_video) and callable(mod.probe)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
