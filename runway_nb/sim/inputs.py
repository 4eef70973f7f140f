"""A create body's inputs: the bytes behind its media URIs, whether they can be read, its prompt.

``data:`` URIs and ``runway://`` uploads are decoded and used; the simulator's own output URLs
(any host, path ``/_sim/outputs/...``) are looked up locally, so chaining works; other
``https://`` URLs cannot be fetched offline, so a generated placeholder stands in (logged once).
"""

from __future__ import annotations

import base64
import io
import logging
import re
from urllib.parse import urlsplit

from runway_nb.api import catalog
from runway_nb.api.media_paths import nested_media_fields
from runway_nb.sim.formats import OUTPUT_EXTENSIONS
from runway_nb.sim.jobs import Sources
from runway_nb.sim.messages import ApiError, JsonObject
from runway_nb.sim.state import TaskStore, UploadStore

__all__ = ["OUTPUT_PATH", "UUID_RE", "InputResolver", "probe_seconds", "prompt_text", "unreadable_input"]

log = logging.getLogger("runway_nb.sim")

UUID_RE = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
OUTPUT_PATH = re.compile(rf"/_sim/outputs/({UUID_RE})/(\d+)\.({OUTPUT_EXTENSIONS})$")


class InputResolver:
    """Turns the media fields of a create body into bytes for the render."""

    def __init__(self, store: TaskStore, uploads: UploadStore):
        self._store = store
        self._uploads = uploads
        self._warned_urls: set[str] = set()

    def sources(self, endpoint: str, body: JsonObject) -> Sources:
        """The source image, video and audio bytes for the render, from the body's media fields."""
        image = video = None
        if endpoint not in _CLASSIC:
            return self._generic_sources(endpoint, body)
        if endpoint == "image_to_video":
            pi = body.get("promptImage")
            if isinstance(pi, list):
                items = [p for p in pi if isinstance(p, dict)]
                first = next((p for p in items if p.get("position") == "first"), items[0] if items else None)
                for i, p in enumerate(items):
                    data = self.resolve(f"promptImage.{i}.uri", p.get("uri"))
                    if p is first:
                        image = data
            elif isinstance(pi, str):
                image = self.resolve("promptImage", pi)
        elif endpoint == "text_to_image":
            refs = body.get("referenceImages") or []
            for i, ref in enumerate(refs):
                if isinstance(ref, dict):
                    data = self.resolve(f"referenceImages.{i}.uri", ref.get("uri"))
                    image = image if image is not None else data
        elif endpoint in ("video_to_video", "video_upscale"):
            for key in ("videoUri", "promptVideo"):
                if isinstance(body.get(key), str):
                    video = self.resolve(key, body[key])
                    break
        elif endpoint == "character_performance":
            char = body.get("character") or {}
            if isinstance(char, dict):
                data = self.resolve("character.uri", char.get("uri"))
                if char.get("type") == "video":
                    video = data
                else:
                    image = data
            ref = body.get("reference") or {}
            if isinstance(ref, dict):
                self.resolve("reference.uri", ref.get("uri"))
        return Sources(image, video)

    def _generic_sources(self, endpoint: str, body: JsonObject) -> Sources:
        """The first input of each kind among the catalog's media fields of the body's model (a URI,
        a list of URIs, ``{uri}`` items, or a ``{type, uri}`` object)."""
        info = catalog.find_for_body(endpoint, body)
        found: dict[str, bytes | None] = {}
        fields = {**info.media_fields, **nested_media_fields(info)} if info is not None else {}
        for name, kinds in fields.items():
            value = _at_path(body, name)
            for where, uri, kind in _uris(name, value, kinds.split(" ")[0]):
                data = self.resolve(where, uri)
                if data is not None and found.get(kind) is None:
                    found[kind] = data
        return Sources(found.get("image"), found.get("video"), found.get("audio"))

    def resolve(self, field_path: str, uri: object) -> bytes | None:
        """Bytes behind a media URI, or None when a placeholder must stand in."""
        if not isinstance(uri, str):
            return None
        if uri.startswith("data:"):
            head, sep, payload = uri.partition(",")
            if not sep or ";base64" not in head:
                raise ApiError(400, f"{field_path}: Invalid data URI: it must be base64 encoded.")
            try:
                return base64.b64decode(payload, validate=False)
            except ValueError:
                raise ApiError(400, f"{field_path}: Invalid data URI: the base64 payload is malformed.") from None
        if uri.startswith("runway://"):
            up = self._uploads.resolve(uri)
            if up is None:
                raise ApiError(400, f"{field_path}: The runway:// URI does not match an uploaded file, "
                                    "or the upload has expired.")
            return up.data
        try:
            path = urlsplit(uri).path
        except ValueError:  # e.g. an unclosed "[" in the host: the spec's pattern allows it, a fetch cannot
            raise ApiError(400, f"{field_path}: Invalid URL: it cannot be parsed.",
                           [{"code": "invalid_string", "path": _issue_path(field_path),
                             "message": "Invalid url"}]) from None
        m = OUTPUT_PATH.search(path)
        if m is not None:
            found = self._store.output(m.group(1), int(m.group(2)))
            if found is None:
                raise ApiError(400, f"{field_path}: Failed to fetch the asset (HTTP 404).")
            return found[0]
        if uri not in self._warned_urls:
            self._warned_urls.add(uri)
            # a notice, not a problem: the notebook shows it as one quiet line (runway_nb.notebook.notice)
            log.warning("runway-nb simulator: offline, so a generated placeholder stands in for %s (%s).",
                        _short_url(uri), field_path, extra={"rnb_notice": True})
        return None


def unreadable_input(image: bytes | None, video: bytes | None) -> tuple[str, str] | None:
    """A task failure (ASSET.INVALID) when an input's bytes are not a readable image/video."""
    from runway_nb.sim import media  # PIL and PyAV load when an input is first checked, not on import

    for data, kind in ((image, "image"), (video, "video")):
        if data is None:
            continue
        try:
            info = media.probe(data)
        except Exception:  # any decoder error means the same to the user
            info = {}
        if info.get("kind") not in ("image", "video") or (kind == "video" and info.get("kind") != "video"):
            return (f"An input {kind} could not be read. Check its format and that it is not corrupted.",
                    "ASSET.INVALID")
    return None


def probe_seconds(data: bytes) -> float | None:
    """Duration of an input video, when it can be read (for outputs that follow their input)."""
    try:
        from runway_nb.sim import media  # PIL and PyAV load when an input is first checked

        seconds = media.probe(data).get("duration")
        if seconds:
            return float(seconds)
    except Exception:  # not an image or a video: maybe audio, below
        pass
    try:
        import av

        with av.open(io.BytesIO(data)) as container:
            return container.duration / 1_000_000 if container.duration else None
    except Exception:  # a placeholder-sized input is fine
        return None


def prompt_text(body: JsonObject) -> str:
    """The prompt of an official body (``promptText``) or a web-app one (``text_prompt``)."""
    return str(body.get("promptText") or body.get("text_prompt") or "")


_CLASSIC = ("image_to_video", "text_to_image", "video_to_video", "video_upscale", "character_performance",
            "text_to_video")


def _uris(name: str, value: object, kinds: str) -> list[tuple[str, object, str]]:
    """(where, uri, kind) for each media URI in a field's value."""
    first = kinds.split("|")[0]
    if isinstance(value, str):
        return [(name, value, _kind_of_uri(value, kinds))]
    if isinstance(value, dict):
        kind = value.get("type") if value.get("type") in ("image", "video", "audio") else first
        return [(f"{name}.uri", value.get("uri"), str(kind))]
    if isinstance(value, list):
        out: list[tuple[str, object, str]] = []
        for i, item in enumerate(value):
            out += [(f"{name}.{i}" + where[len(name):], uri, kind) for where, uri, kind in _uris(name, item, kinds)]
        return out
    return []


def _at_path(body: JsonObject, path: str) -> object:
    """The value at a dotted path of ``body`` (``speech.audio``), or None."""
    node: object = body
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _kind_of_uri(uri: str, kinds: str) -> str:
    if uri.startswith("data:"):
        head = uri[5:].split("/", 1)[0]
        if head in kinds.split("|"):
            return head
    return kinds.split("|")[0]


def _issue_path(field_path: str) -> list[str | int]:
    return [int(part) if part.isdigit() else part for part in field_path.split(".")]


def _short_url(url: str) -> str:
    return url if len(url) <= 100 else url[:97] + "..."
