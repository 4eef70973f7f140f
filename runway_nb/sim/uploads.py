"""Uploads: ``POST /v1/uploads`` hands out an upload URL and a ``runway://`` URI; the file then goes
to ``POST /_sim/upload/{token}`` as multipart form data (shaped like S3's presigned POST)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY

from runway_nb.sim.context import SimContext
from runway_nb.sim.messages import (
    ApiError,
    Issue,
    SimRequest,
    SimResponse,
    empty_response,
    json_response,
    read_json_body,
    text_response,
)

__all__ = ["MAX_UPLOAD_BYTES", "UPLOAD_TYPES", "UploadsApi"]

UPLOAD_TYPES = {
    "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
    "gif": "image/gif", "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm",
    "mkv": "video/x-matroska", "m4v": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav",
    "ogg": "audio/ogg", "m4a": "audio/mp4", "aac": "audio/aac", "flac": "audio/flac",
}
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
_FORM_OVERHEAD = 1024 * 1024  # room for the multipart framing and fields around the file
_XML = "application/xml"


def _xml_error(status: int, code: str, message: str | None = None) -> SimResponse:
    text = f"<Error><Code>{code}</Code>" + (f"<Message>{message}</Message>" if message else "") + "</Error>"
    return text_response(status, text, _XML)


class UploadsApi:
    def __init__(self, ctx: SimContext):
        self._ctx = ctx

    def create(self, req: SimRequest) -> SimResponse:
        """``POST /v1/uploads``: validate the filename and type, reserve an upload."""
        body = read_json_body(req)
        filename, kind = body.get("filename"), body.get("type")
        issues: list[Issue] = []
        if not isinstance(filename, str) or not 3 <= len(filename) <= 255:
            issues.append({"code": "invalid_type" if not isinstance(filename, str) else "too_small",
                           "path": ["filename"], "message": "Filename must be 3 to 255 characters long"})
        elif filename.rsplit(".", 1)[-1].lower() not in UPLOAD_TYPES or "." not in filename:
            issues.append({"code": "custom", "path": ["filename"],
                           "message": "Filename must have a supported image, video or audio extension"})
        if kind != "ephemeral":
            issues.append({"code": "invalid_enum_value", "path": ["type"],
                           "message": "Invalid enum value. Expected 'ephemeral'"})
        if issues or not isinstance(filename, str):
            raise ApiError(400, f"{issues[0]['path'][0]}: {issues[0]['message']}", issues)
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
        up = self._ctx.uploads.create(safe)
        mime = UPLOAD_TYPES[safe.rsplit(".", 1)[-1].lower()]
        return json_response(200, {
            "uploadUrl": f"{self._ctx.base_url()}/_sim/upload/{up.token}",
            "fields": {"key": f"uploads/{up.token}/{safe}", "Content-Type": mime},
            "runwayUri": up.runway_uri,
        })

    def receive(self, req: SimRequest, token: str) -> SimResponse:
        """``POST /_sim/upload/{token}``: the file, as the ``file`` field of a multipart form."""
        ctype = req.header("content-type") or ""
        if "multipart/form-data" not in ctype:
            return _xml_error(400, "InvalidArgument", "POST requires multipart/form-data")
        if len(req.body) > MAX_UPLOAD_BYTES + _FORM_OVERHEAD:
            return _xml_error(400, "EntityTooLarge")
        msg = BytesParser(EmailMessage, policy=HTTP_POLICY).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + req.body)
        file_data: bytes | None = None
        file_type: str | None = None
        for part in msg.iter_parts() if msg.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                file_data = payload if isinstance(payload, bytes) and payload else b""
                file_type = part.get_content_type()
        if file_data is None:
            return _xml_error(400, "InvalidArgument", "missing file field")
        if not self._ctx.uploads.put(token, file_data, file_type):
            return _xml_error(403, "AccessDenied", "Invalid or expired upload URL")
        return empty_response(204)
