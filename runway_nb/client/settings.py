"""Which backend to talk to, with which key: providers, environment variables, key masking."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from runway_nb.errors import ValidationError

RUNWAY_VERSION = "2024-11-06"
KEY_ENV_VARS = ("RUNWAYML_API_SECRET", "RUNWAY_API_KEY")
BASE_URL_ENV_VAR = "RUNWAYML_BASE_URL"
PROVIDER_ENV_VAR = "RUNWAY_NB_PROVIDER"


@dataclass(frozen=True)
class Provider:
    """Where a provider keeps its routes and how it spells a task."""

    name: str
    base_url: str
    dialect: str
    create_path: str | None  # with {endpoint}; None when this client cannot create there
    task_path: str  # with {id}
    cancel: bool
    key_env: tuple[str, ...]
    organization_path: str | None = "/v1/organization"
    uploads_path: str | None = "/v1/uploads"
    sends_version: bool = True

    def task_url(self, task_id: str) -> str:
        # useapi ids hold ':' and '@'; quote everything but the safe characters.
        return self.task_path.format(id=quote(task_id, safe=""))


PROVIDERS: dict[str, Provider] = {
    "runway": Provider("runway", "https://api.dev.runwayml.com", "runway", "/v1/{endpoint}", "/v1/tasks/{id}",
                       True, KEY_ENV_VARS),
    "sim": Provider("sim", "http://runway-sim.invalid", "runway", "/v1/{endpoint}", "/v1/tasks/{id}",
                    True, KEY_ENV_VARS),
    "comet": Provider("comet", "https://api.cometapi.com", "comet", "/runwayml/v1/{endpoint}",
                      "/runwayml/v1/tasks/{id}", False, ("COMETAPI_KEY", *KEY_ENV_VARS),
                      organization_path=None, uploads_path=None),
    "useapi": Provider("useapi", "https://api.useapi.net", "useapi", None, "/v1/runwayml/tasks/{id}", False,
                       ("USEAPI_TOKEN", *KEY_ENV_VARS), organization_path=None, uploads_path=None,
                       sends_version=False),
    "makevid": Provider("makevid", "https://makevid.ai", "makevid", None, "/api/v1/get_runway/{id}", False,
                        ("MAKEVID_API_KEY", *KEY_ENV_VARS), organization_path=None, uploads_path=None,
                        sends_version=False),
}

SIM_KEY = "sim-key-not-secret"


def get_provider(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ValidationError("provider", name, list(PROVIDERS)) from None


def key_from_env(provider: Provider) -> str | None:
    for var in provider.key_env:
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return None


def mask_key(key: str | None) -> str:
    """A key shown to a person: enough to tell two keys apart, never enough to use one."""
    if not key:
        return "(none)"
    if len(key) < 16:
        return "****"
    prefix = key[:4] if key.startswith("key_") else key[:2]
    return f"{prefix}…{key[-4:]}"


@dataclass(frozen=True)
class Settings:
    provider: Provider
    base_url: str
    api_key: str
    in_process_sim: bool  # True: requests go to the embedded simulator, no sockets

    def __repr__(self) -> str:  # the dataclass repr would print the key
        return (f"Settings(provider={self.provider.name!r}, base_url={self.base_url!r}, "
                f"api_key={mask_key(self.api_key)!r}, in_process_sim={self.in_process_sim})")


def resolve(provider: str | None, api_key: str | None, base_url: str | None) -> Settings:
    """Decide the backend. No key and no explicit provider means the in-process simulator."""
    name = provider or os.environ.get(PROVIDER_ENV_VAR) or None
    if name is None:
        env_key = api_key or key_from_env(PROVIDERS["runway"])
        name = "runway" if env_key else "sim"
    prov = get_provider(name)
    key = api_key or key_from_env(prov)
    url = base_url or (os.environ.get(BASE_URL_ENV_VAR) if prov.name in ("runway", "sim") else None)
    if prov.name == "sim":
        return Settings(prov, (url or prov.base_url).rstrip("/"), key or SIM_KEY, in_process_sim=url is None)
    if not key:
        vars_ = " or ".join(prov.key_env)
        raise ValidationError("api_key", None, f"a key for {prov.name} (set {vars_}, or pass api_key=...)",
                              message=f"api_key is missing for provider {prov.name!r}: set {vars_} or pass "
                                      f"api_key=..., or use provider='sim' to work offline")
    return Settings(prov, (url or prov.base_url).rstrip("/"), key, in_process_sim=False)
