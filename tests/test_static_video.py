"""The static card's video plays like mediapy's: at once, muted, looped, inline, with controls."""

from __future__ import annotations

from html.parser import HTMLParser

from runway_nb.notebook.widgets._static import media_figure


class _Videos(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "video":
            self.attrs.append(dict(attrs))


def _video_attrs(html: str) -> dict[str, str | None]:
    parser = _Videos()
    parser.feed(html)
    assert len(parser.attrs) == 1, html
    return parser.attrs[0]


def test_static_video_autoplays_muted_and_looped_with_controls() -> None:
    html = media_figure({"src": "runway_outputs/clip.mp4", "kind": "video", "local": True, "number": 1,
                         "waveform": None}, 1)
    attrs = _video_attrs(html)
    for name in ("autoplay", "muted", "loop", "playsinline", "controls"):
        assert name in attrs, (name, attrs)
    assert attrs["src"] == "runway_outputs/clip.mp4"


def test_static_audio_never_autoplays() -> None:
    html = media_figure({"src": "runway_outputs/voice.mp3", "kind": "audio", "local": True, "number": 1,
                         "waveform": None}, 1)
    assert "<audio" in html and "autoplay" not in html
