"""``GET``/``HEAD /_sim/outputs/{id}/{n}.{ext}``: a finished task's outputs, with byte ranges (browsers seek
in videos) and CORS headers (pages on other origins load them). The extension and the Content-Type follow
the format the outputs are in (``sim/formats.py``: png, jpg, webp, mp4, mov, zip, mp3, wav, flac, ogg)."""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from runway_nb.sim.context import SimContext
from runway_nb.sim.formats import CONTENT_TYPES, OUTPUT_EXTENSIONS
from runway_nb.sim.messages import SimRequest, SimResponse, json_response

__all__ = ["OUTPUT_EXTENSIONS", "OutputsApi", "parse_range"]



class OutputsApi:
    def __init__(self, ctx: SimContext):
        self._ctx = ctx

    def get(self, req: SimRequest, task_id: str, index: str, ext: str) -> SimResponse:
        found = self._ctx.store.output(task_id, int(index))
        if found is None or found[1] != ext:
            return json_response(404, {"error": "Output not found (unknown, not finished, or deleted task)."},
                                 {"Access-Control-Allow-Origin": "*"})
        data, _ = found
        etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
        headers = {"Content-Type": CONTENT_TYPES[ext], "Accept-Ranges": "bytes", "ETag": etag,
                   "Cache-Control": "private, max-age=3600", "Access-Control-Allow-Origin": "*",
                   "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges"}
        size = len(data)
        rng = parse_range(req.header("range"), size)
        if rng == "unsatisfiable":
            headers.update({"Content-Range": f"bytes */{size}", "Content-Length": "0"})
            return SimResponse(416, headers, b"")
        if rng is None:
            status, chunk = 200, data
        else:
            start, end = rng
            status, chunk = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(len(chunk))
        return SimResponse(status, headers, b"" if req.method == "HEAD" else chunk)


def parse_range(header: str | None, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """(start, end) inclusive for a single satisfiable byte range; None = whole body;
    'unsatisfiable' for a range past the end. Multiple ranges are answered in full (allowed)."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end
