"""Small files shipped with runway-nb for the demo notebooks.

``sample_image()`` is the path of ``lighthouse.png`` (768x432, a few KB), drawn by
``tools/make_sample_image.py``: a lighthouse on a cliff at dusk, to animate with image_to_video.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DATA_DIR", "SAMPLE_IMAGE", "sample_image"]

DATA_DIR = Path(__file__).resolve().parent
SAMPLE_IMAGE = DATA_DIR / "lighthouse.png"


def sample_image() -> Path:
    """The sample image's path (a PNG inside the installed package)."""
    if not SAMPLE_IMAGE.is_file():  # pragma: no cover - a broken installation
        raise FileNotFoundError(f"runway-nb's sample image is missing: {SAMPLE_IMAGE} "
                                f"(regenerate it with tools/make_sample_image.py)")
    return SAMPLE_IMAGE
