"""The checks API requests pass before their handler: the Bearer key and ``X-Runway-Version``."""

from __future__ import annotations

from runway_nb.sim.messages import ApiError, SimRequest

__all__ = ["API_VERSION", "check_auth", "check_version"]

API_VERSION = "2024-11-06"


def check_auth(req: SimRequest, api_key: str | None) -> None:
    """Any non-empty Bearer key passes, unless the simulator was given one ``api_key``."""
    auth = req.header("authorization") or ""
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "An API key is required: send it as 'Authorization: Bearer <key>'.")
    if api_key is not None and token != api_key:
        raise ApiError(401, "Invalid API key. Check the key and that it is meant for this server.")


def check_version(req: SimRequest) -> None:
    version = req.header("x-runway-version")
    if version is None:
        raise ApiError(400, f"The X-Runway-Version header is required. Set it to {API_VERSION}.",
                       [{"code": "invalid_type", "path": ["X-Runway-Version"], "message": "Required"}])
    if version.strip() != API_VERSION:
        raise ApiError(400, f"Invalid X-Runway-Version header: the supported version is {API_VERSION}.",
                       [{"code": "invalid_literal", "path": ["X-Runway-Version"],
                         "message": f"Invalid literal value, expected \"{API_VERSION}\""}])
