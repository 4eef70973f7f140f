"""The Runway web app's task format, which useapi.net and makevid.ai pass through (with small differences)."""

from __future__ import annotations

import math
import uuid

from runway_nb.sim.context import SimContext
from runway_nb.sim.inputs import prompt_text
from runway_nb.sim.messages import JsonObject
from runway_nb.sim.state import TaskView, iso_z

__all__ = ["USEAPI_USER", "webapp_task"]

USEAPI_USER = "user:1-runwayml:sim@example.com"
_ASSET_GROUP = str(uuid.uuid5(uuid.NAMESPACE_URL, "runway-nb-sim/assets"))
_VIDEO_FPS = 24


def webapp_task(ctx: SimContext, v: TaskView, *, useapi: bool) -> JsonObject:
    """The web-app task of ``v``: useapi.net's variant with ``useapi``, else makevid.ai's."""
    task_type = ("gen4" if v.dialect == "useapi" else v.model) if useapi else v.model
    prompt = prompt_text(v.body)
    name = f"{task_type} {v.seed}, {prompt[:80]}".strip().rstrip(",")
    updated = v.finished_wall or v.started_wall or v.created_wall
    task_ref = f"{USEAPI_USER}-task:{v.id}" if useapi else v.id
    status = v.status
    progress_ratio: str | None
    if status == "RUNNING":
        progress_ratio = f"{v.progress or 0:g}"
    elif status == "SUCCEEDED":
        progress_ratio = "1"
    elif useapi:
        progress_ratio = "0"
    else:
        progress_ratio = None
    error: JsonObject | str | None = None
    if status == "FAILED":
        if useapi:
            error = {"errorMessage": v.failure, "reason": v.failure_code or "INTERNAL",
                     "message": v.failure,
                     "moderation_category": "TEXT" if (v.failure_code or "").startswith("SAFETY") else None,
                     "tally_asimov": False}
        else:
            error = v.failure
    artifacts = []
    if status == "SUCCEEDED":
        for i, (url, size) in enumerate(zip(ctx.output_urls(v), v.output_sizes, strict=False)):
            aid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{v.id}/{i}"))
            meta: JsonObject = {"dimensions": list(v.out_size),
                                "size": {"width": v.out_size[0], "height": v.out_size[1]}}
            if v.out_kind == "video":
                meta = {"frameRate": _VIDEO_FPS, "duration": v.out_duration, **meta}
            art: JsonObject = {
                "id": aid, "createdAt": iso_z(updated), "updatedAt": iso_z(updated),
                "userId": 1, "createdBy": 1, "taskId": task_ref,
                "parentAssetGroupId": _ASSET_GROUP,
                "filename": f"{name[:60]}.{v.ext}", "url": url, "fileSize": str(size),
                "isDirectory": False, "previewUrls": [url] if v.out_kind == "image" else [],
                "private": True, "privateInTeam": True, "deleted": False, "reported": False,
                "metadata": meta, "favorite": False,
            }
            if useapi:
                art = {"assetId": f"{USEAPI_USER}-asset:{aid}", **art}
            artifacts.append(art)
    init_image = v.body.get("promptImage")
    if isinstance(init_image, list):
        init_image = (init_image[0] or {}).get("uri") if init_image else None
    options: JsonObject = {
        "name": name, "seconds": v.out_duration, "text_prompt": prompt, "seed": v.seed,
        "exploreMode": False, "watermark": False, "enhance_prompt": False,
        "init_image": init_image if isinstance(init_image, str) and not init_image.startswith("data:") else None,
        "resolution": "720p", "assetGroupName": "Generative Video",
    }
    if useapi:
        options["recordingEnabled"] = True
    else:
        options["image_as_end_frame"] = False
    eta = v.eta_start_sim
    out: JsonObject = {}
    if useapi:
        out["taskId"] = task_ref
    out.update({
        "id": v.id, "name": name if useapi else None, "image": None, "createdAt": v.created_at,
        "updatedAt": iso_z(updated), "taskType": task_type, "options": options, "status": status,
        "error": error, "progressText": None, "progressRatio": progress_ratio,
        "estimatedTimeToStartSeconds": (math.ceil(eta) if eta is not None else (None if useapi else 0)),
        "artifacts": artifacts, "sharedAsset": None,
    })
    return out
