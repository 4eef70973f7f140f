"""Request schemas from the installed ``runwayml`` SDK (maintainer tool, used by build_catalog.py).

The SDK's ``types/<operation>_create_params.py`` are TypedDicts generated from a newer spec than
our copy: one class per model (``model: Required[Literal["..."]]``), snake_case keys with the
wire name in ``PropertyInfo(alias=...)``, enums as ``Literal``. They carry no numeric or length
limits (those are prose in docstrings), so :func:`model_schemas` returns types, enums and
required fields only; build_catalog.py fills the limits from the spec where the same field
exists on the same operation.
"""

from __future__ import annotations

import importlib
import re
import typing
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType, UnionType
from typing import Any

import typing_extensions

try:  # the SDK is a test dependency; the builder needs it, the package never does
    import runwayml
except ImportError:  # pragma: no cover - reported by build_catalog.main
    runwayml = None


def sdk_version() -> str | None:
    return getattr(runwayml, "__version__", None) if runwayml else None


def sdk_root() -> Path:
    if runwayml is None:
        raise SystemExit("build_catalog needs the runwayml SDK: pip install 'runwayml==5.24.*'")
    return Path(runwayml.__file__).parent


def sdk_operations() -> dict[str, str]:
    """``{operation path after /v1/: params module name}`` for every SDK resource that POSTs a task
    to ``/v1/<name>`` and has a ``types/<name>_create_params.py``."""
    root = sdk_root()
    out: dict[str, str] = {}
    for resource in sorted((root / "resources").glob("*.py")):
        name = resource.stem
        if not (root / "types" / f"{name}_create_params.py").exists():
            continue
        if f'"/v1/{name}"' in resource.read_text(encoding="utf-8"):
            out[name] = f"runwayml.types.{name}_create_params"
    return out


def _module_for(operation: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"runwayml.types.{operation.replace('/', '_')}_create_params")
    except ImportError:
        return None


def _model_classes(module: ModuleType) -> dict[str, type]:
    """``{model id: TypedDict class}`` of a params module."""
    out: dict[str, type] = {}
    for name in getattr(module, "__all__", []):
        cls = getattr(module, name)
        if not typing_extensions.is_typeddict(cls):
            continue
        hints = typing.get_type_hints(cls, include_extras=True)
        model = _literal_values(hints.get("model"))
        if model and len(model) == 1 and isinstance(model[0], str):
            out[model[0]] = cls
    return out


def model_schemas(operation: str) -> dict[str, tuple[dict[str, Any], str]]:
    """``{model: (JSON schema, docstring text of the fields)}`` for ``operation`` in the SDK."""
    module = _module_for(operation)
    if module is None:
        return {}
    return {model: (_typeddict_schema(cls), _field_docs(cls)) for model, cls in _model_classes(module).items()}


def _strip(tp: Any) -> tuple[Any, list[Any]]:
    """``tp`` without Required/NotRequired/Annotated wrappers, and the Annotated metadata."""
    meta: list[Any] = []
    while True:
        origin = typing.get_origin(tp)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Required,
                      typing.NotRequired):
            tp = typing.get_args(tp)[0]
        elif origin is typing_extensions.Annotated or origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], [*meta, *args[1:]]
        else:
            return tp, meta


def _literal_values(tp: Any) -> list[Any] | None:
    tp, _ = _strip(tp) if tp is not None else (None, [])
    if typing.get_origin(tp) in (typing.Literal, typing_extensions.Literal):
        return list(typing.get_args(tp))
    return None


def _alias(meta: list[Any], name: str) -> str:
    for item in meta:
        alias = getattr(item, "alias", None)
        if isinstance(alias, str):
            return alias
    return name


def _typeddict_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    required_keys = set(getattr(cls, "__required_keys__", frozenset()))
    # Under ``from __future__ import annotations`` the SDK's Required[...] stays a string, which
    # TypedDict does not see: read the raw annotation.
    for base in reversed(cls.__mro__):
        for key, raw in getattr(base, "__annotations__", {}).items():
            text = getattr(raw, "__forward_arg__", raw)
            if isinstance(text, str) and text.replace(" ", "").startswith("Required["):
                required_keys.add(key)
    props: dict[str, Any] = {}
    required: list[str] = []
    for key, tp in hints.items():
        inner, meta = _strip(tp)
        wire = _alias(meta, key)
        props[wire] = _type_schema(inner)
        if wire == "duration" and props[wire].get("type") in ("number", "integer") and len(props[wire]) == 1:
            # an unbounded length in seconds (video_to_audio's): the SDK types it as a bare float,
            # but no length is zero or negative; refusing that here spares a doomed task
            props[wire]["exclusiveMinimum"] = 0
        if key in required_keys:
            required.append(wire)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _type_schema(tp: Any) -> dict[str, Any]:
    tp, _ = _strip(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Literal, typing_extensions.Literal):
        values = list(typing.get_args(tp))
        base = _json_type(values[0])
        return {"type": base, "const": values[0]} if len(values) == 1 else {"type": base, "enum": values}
    if origin in (typing.Union, UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        subs = [_type_schema(a) for a in options]
        return subs[0] if len(subs) == 1 else {"anyOf": subs}
    if origin is not None and isinstance(origin, type) and issubclass(origin, Iterable) and origin not in (str, dict):
        args = typing.get_args(tp)
        return {"type": "array", "items": _type_schema(args[0]) if args else {}}
    if origin is dict or tp is dict:
        return {"type": "object"}
    if typing_extensions.is_typeddict(tp):
        return _typeddict_schema(tp)
    name = getattr(tp, "__name__", "")
    if name == "SequenceNotStr":
        return {"type": "array", "items": {"type": "string"}}
    return {"type": _json_type_of(tp)} if _json_type_of(tp) else {}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _json_type_of(tp: Any) -> str | None:
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(tp)


def _field_docs(cls: type) -> str:
    try:
        import inspect

        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def docstring_media_kind(source: str, wire_name: str) -> str | None:
    """For a field that holds media, the kind: from its wire name (``promptImage``, ``videoUri``,
    ``referenceVideos``), else, for a URI-ish name (``...Uri``, ``references``, ``media``), from the
    first media word of its docstring. None for other fields."""
    lower = wire_name.lower()
    for kind, words in (("image", ("image", "frame", "mask")), ("video", ("video",)), ("audio", ("audio",))):
        if any(w in lower for w in words):
            return kind
    if not (lower.endswith(("uri", "uris")) or lower in ("references", "reference", "media", "character")):
        return None
    snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), wire_name)
    m = re.search(rf"^\s+{snake}:[^\n]*(?:\n[^\n\"]*){{0,6}}?\n\s*\"\"\"(.*?)\"\"\"", source, re.S | re.M)
    text = m.group(1).lower() if m else ""
    found = [(text.find(kind), kind) for kind in ("video", "image", "audio") if kind in text]
    return min(found)[1] if found else None


def resource_docstring(operation: str) -> str:
    """The docstring of the SDK resource's ``create`` method (what the operation does)."""
    path = sdk_root() / "resources" / f"{operation}.py"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    m = re.search(r'def create\(.*?"""(.*?)"""', text, re.S)
    return m.group(1) if m else ""


def response_fields(operation: str) -> list[str]:
    """The wire names of the SDK's create-response fields for ``operation``."""
    try:
        module = importlib.import_module(f"runwayml.types.{operation}_create_response")
    except ImportError:
        return ["id"]
    for name in getattr(module, "__all__", []):
        cls = getattr(module, name)
        fields = getattr(cls, "model_fields", None)
        if fields:
            return sorted((f.alias or key) for key, f in fields.items())
    return ["id"]
