"""Tests for the simulator's image upscale and HDR video (runway_nb.sim.media) and their RenderJobs."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image, ImageChops, ImageStat
from sim_media_samples import video_with_sound

from runway_nb.sim.audio import probe_audio, render_sound
from runway_nb.sim.media import (
    HDR_COLORSPACE_BT2020NC,
    HDR_PRIMARIES_BT2020,
    HDR_TRC_SMPTE2084,
    probe,
    render_hdr_video,
    render_image,
    render_video,
    upscale_image,
)
from runway_nb.sim.render import Renderer, RenderJob


def encoded(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def video_of(frames: list[np.ndarray], *, fps: int = 24, pix_fmt: str = "yuv420p") -> bytes:
    """An H.264 MP4 (BT.709 tags) of the given RGB frames."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as c:
        s = c.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "10"})
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.codec_context.colorspace = s.codec_context.color_primaries = s.codec_context.color_trc = 1
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return buf.getvalue()


# ---------------------------------------------------------------------------
# upscale_image
# ---------------------------------------------------------------------------

def test_upscale_really_scales_a_png():
    source = render_image(300, 201, prompt="a lighthouse at dusk", model="gen4_image", seed=3)
    out = upscale_image(source, 4)
    assert probe(out) == {"kind": "image", "width": 1200, "height": 804, "format": "PNG"}
    big, small = Image.open(io.BytesIO(out)), Image.open(io.BytesIO(source))
    # the enlargement shows the same picture: shrunk back, it matches the input closely
    assert mean_abs_diff(big.resize(small.size, Image.Resampling.LANCZOS), small) < 3.0
    assert upscale_image(source, 4) == out


def test_upscale_keeps_jpeg_as_jpeg_and_png_transparency():
    photo = Image.open(io.BytesIO(render_image(160, 90, prompt="a forest", model="m", seed=1)))
    out = upscale_image(encoded(photo, "JPEG"), 2)
    assert probe(out) == {"kind": "image", "width": 320, "height": 180, "format": "JPEG"}
    rgba = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (10, 10, 30, 20))
    up = Image.open(io.BytesIO(upscale_image(encoded(rgba, "PNG"), 8)))
    assert (up.format, up.mode, up.size) == ("PNG", "RGBA", (320, 240))
    assert up.getpixel((4, 4))[3] == 0 and up.getpixel((160, 120)) == (0, 0, 255, 255)


def test_upscale_is_capped_at_max_side():
    source = encoded(Image.new("RGB", (1000, 500), (20, 120, 200)), "PNG")
    biggest = probe(upscale_image(source, 16))
    assert (biggest["width"], biggest["height"]) == (4096, 2048)
    capped = probe(upscale_image(source, 2, max_side=1500))
    assert (capped["width"], capped["height"]) == (1500, 750)


def test_upscale_rejects_bad_input():
    source = render_image(64, 64, prompt="x", model="m", seed=1)
    for factor in (0, 17, 2.5, True):
        with pytest.raises(ValueError, match="factor"):
            upscale_image(source, factor)  # type: ignore[arg-type]  # bad on purpose
    with pytest.raises(ValueError, match="decode"):
        upscale_image(b"not an image", 2)


# ---------------------------------------------------------------------------
# render_hdr_video
# ---------------------------------------------------------------------------

def hdr_stream(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as c:
        s = c.streams.video[0]
        cc = s.codec_context
        frames = list(c.decode(s))
        side = {str(sd.type).rsplit(".", 1)[-1] for sd in frames[0].side_data}
        return {"pix_fmt": cc.pix_fmt, "primaries": int(cc.color_primaries), "trc": int(cc.color_trc),
                "colorspace": int(cc.colorspace), "range": int(cc.color_range), "frames": len(frames),
                "size": (cc.width, cc.height), "rate": s.average_rate, "side_data": side,
                "first": frames[0]}


def test_hdr_video_is_10_bit_tagged_hdr10_of_the_same_length_and_size():
    source = render_video(320, 240, 1.5, prompt="a city at night", model="gen4_turbo", seed=2)
    out = render_hdr_video(source)
    info = hdr_stream(out)
    assert info["pix_fmt"] == "yuv420p10le"
    assert (info["primaries"], info["trc"], info["colorspace"], info["range"]) == (
        HDR_PRIMARIES_BT2020, HDR_TRC_SMPTE2084, HDR_COLORSPACE_BT2020NC, 1)
    assert (HDR_PRIMARIES_BT2020, HDR_TRC_SMPTE2084, HDR_COLORSPACE_BT2020NC) == (9, 16, 9)  # BT.2020, PQ, 2020nc
    assert {"MASTERING_DISPLAY_METADATA", "CONTENT_LIGHT_LEVEL"} <= info["side_data"]
    before, after = probe(source), probe(out)
    assert (after["width"], after["height"], after["frames"], after["fps"]) == (320, 240, 36, 24)
    assert after["duration"] == pytest.approx(before["duration"])
    assert render_hdr_video(source) == out


def test_hdr_converts_the_picture_not_just_the_tags():
    half = np.zeros((64, 96, 3), np.uint8)
    half[:, 48:] = 255  # black left, white right
    out = render_hdr_video(video_of([half] * 6))
    y = hdr_stream(out)["first"].to_ndarray(format="yuv420p10le")[:64]  # the luma rows
    black, white = float(np.median(y[:, 8:40])), float(np.median(y[:, 56:88]))
    assert black == pytest.approx(64, abs=4)  # 10-bit limited-range black
    # SDR white at 203 nits is PQ 0.58: 64 + 876 * 0.58 = 572; a mere retag would leave it at 940
    assert white == pytest.approx(572, abs=8)


def test_hdr_of_an_odd_sized_video_drops_a_pixel_row_and_column():
    frames = [np.full((61, 81, 3), 90 + 10 * i, np.uint8) for i in range(5)]
    out = probe(render_hdr_video(video_of(frames, fps=10, pix_fmt="yuv444p")))
    assert (out["width"], out["height"], out["frames"], out["fps"]) == (80, 60, 5, 10)


def test_hdr_keeps_the_sound_track():
    source = video_with_sound(2.0)
    out = render_hdr_video(source)
    assert probe_audio(out) == probe_audio(source)  # copied as it is: same codec, samples, rate
    assert hdr_stream(out)["pix_fmt"] == "yuv420p10le"
    assert out.index(b"moov") < out.index(b"mdat")  # still starts playing before it is all loaded


def test_hdr_rejects_what_is_not_a_video():
    with pytest.raises(ValueError, match="could not open"):
        render_hdr_video(b"definitely not a video")
    with pytest.raises(ValueError, match="no video stream"):
        render_hdr_video(render_sound("rain", duration=1.0, seed=1, fmt="wav"))


# ---------------------------------------------------------------------------
# RenderJob / Renderer
# ---------------------------------------------------------------------------

def test_renderer_upscales_and_makes_hdr():
    image = render_image(200, 100, prompt="a forest", model="gen4_image", seed=1)
    video = render_video(160, 96, 1.0, prompt="a forest", model="gen4_turbo", seed=1)
    renderer = Renderer(workers=1)
    try:
        [up] = renderer.render(RenderJob.for_upscale(image, 4, model="magnific_precision_upscaler_v2"))
        assert up == upscale_image(image, 4)
        assert (probe(up)["width"], probe(up)["height"]) == (800, 400)
        [hdr] = renderer.render(RenderJob.for_hdr(video, model="ruby"))
        assert hdr == render_hdr_video(video)
        # the existing jobs are unchanged: a positional image job still renders the prompt
        [plain] = renderer.render(RenderJob("image", (64, 48), None, "a forest", "gen4_image", 5, 1, None, None))
        assert plain == render_image(64, 48, prompt="a forest", model="gen4_image", seed=5)
    finally:
        renderer.close()


def test_transform_jobs_are_checked_and_keyed():
    image = render_image(32, 32, prompt="x", model="m", seed=1)
    with pytest.raises(ValueError, match="upscale"):
        RenderJob("image", (0, 0), None, "", "m", 0, 1, image, None, transform="hdr")
    with pytest.raises(ValueError, match="hdr"):
        RenderJob("video", (0, 0), None, "", "m", 0, 1, None, b"v", transform="upscale:2")
    keys = {RenderJob.for_upscale(image, f, model="m").cache_key() for f in (2, 4)}
    keys.add(RenderJob("image", (0, 0), None, "", "m", 0, 1, image, None).cache_key())
    assert len(keys) == 3
