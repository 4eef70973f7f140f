"""A Jupyter server extension: a saved notebook keeps the final form of runway-nb's widgets.

A finished task view, grid or panel is shown as a widget (the grid's synced playback and the
panel's form need the live model) with its final static HTML beside it in the same output.
The output is marked ``metadata["runway_nb"]["final"] = true`` by the kernel side
(``notebook/widgets/_live.py``). When a notebook is saved, this hook drops the widget view from
those outputs, and the saved state of the dropped models from ``metadata.widgets``: the page that
saved keeps its widgets (its notebook is in memory), the file reopens as static HTML, never as
"Error displaying widget: model not found". Other widgets' outputs are never touched.
runway-nb's quiet notices (``metadata["runway_nb"]["notice"] = true``: "runs on the simulator",
"a placeholder stands in for this input") are for the session that ran: they are not saved.

Enabled by ``etc/jupyter/jupyter_server_config.d/runway_nb.json``, which the package installs
(wheel and editable installs alike); JupyterLab 4 and Notebook 7 both run on jupyter_server.
This module imports nothing else of runway-nb: the server loads it on start.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FINAL_KEY", "WIDGET_MIME", "WIDGET_STATE_MIME", "keep_final_form", "strip_final_widgets"]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
#: The output metadata key runway-nb marks its outputs with.
FINAL_KEY = "runway_nb"
_MODEL_REF = "IPY_MODEL_"

JSON = Any  # a notebook's JSON as the contents API hands it over


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "runway_nb.jupyter_server_ext"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    serverapp.contents_manager.register_pre_save_hook(keep_final_form)
    serverapp.log.info("runway-nb: saved notebooks keep the final static form of finished results")


def keep_final_form(model: dict[str, JSON], **_kwargs: Any) -> None:
    """The contents manager's pre-save hook (``model``: what is being saved, changed in place)."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    strip_final_widgets(model["content"])


def _is_final(output: JSON) -> bool:
    if not isinstance(output, dict):
        return False
    mark = (output.get("metadata") or {}).get(FINAL_KEY)
    data = output.get("data")
    return (isinstance(mark, dict) and mark.get("final") is True and isinstance(data, dict)
            and WIDGET_MIME in data and "text/html" in data)


def _is_notice(output: JSON) -> bool:
    mark = (output.get("metadata") or {}).get(FINAL_KEY) if isinstance(output, dict) else None
    return isinstance(mark, dict) and mark.get("notice") is True


def strip_final_widgets(nb: dict[str, JSON]) -> list[str]:
    """Drop the widget view of every finished runway-nb output of ``nb`` (a notebook dict, changed
    in place), the saved state of models only they used, and runway-nb's notices. Returns the
    dropped views' model ids."""
    dropped: list[str] = []
    for cell in nb.get("cells") or []:
        if isinstance(cell, dict) and isinstance(cell.get("outputs"), list):
            cell["outputs"] = [o for o in cell["outputs"] if not _is_notice(o)]
        for output in (cell.get("outputs") or []) if isinstance(cell, dict) else []:
            if not _is_final(output):
                continue
            view = output["data"].pop(WIDGET_MIME)
            model_id = view.get("model_id") if isinstance(view, dict) else None
            if isinstance(model_id, str) and model_id:
                dropped.append(model_id)
    _drop_state(nb, dropped)
    return dropped


def _drop_state(nb: dict[str, JSON], roots: list[str]) -> None:
    """Remove from ``metadata.widgets`` the models reachable from ``roots`` and from nothing kept
    (a panel's form, its task views, their layouts), and runway-nb's models that nothing shown
    uses (a task view made for saving a sweep's task, which the grid shows instead), so the file
    does not grow with dead state."""
    widgets = (nb.get("metadata") or {}).get("widgets")
    state = widgets.get(WIDGET_STATE_MIME, {}).get("state") if isinstance(widgets, dict) else None
    if not isinstance(state, dict):
        return
    ours = [m for m, model in state.items() if _is_ours(model)]
    doomed = _reachable(state, roots + ours)
    shown = [o["data"][WIDGET_MIME].get("model_id") for c in nb.get("cells") or [] if isinstance(c, dict)
             for o in c.get("outputs") or []
             if isinstance(o, dict) and isinstance(o.get("data"), dict)
             and isinstance(o["data"].get(WIDGET_MIME), dict)]
    kept = _reachable(state, [m for m in state if m not in doomed] + [m for m in shown if isinstance(m, str)])
    for model_id in doomed - kept:
        state.pop(model_id, None)


def _is_ours(model: JSON) -> bool:
    state = model.get("state") if isinstance(model, dict) else None
    widget_id = state.get("_anywidget_id") if isinstance(state, dict) else None
    return isinstance(widget_id, str) and widget_id.startswith("runway_nb.")


def _reachable(state: dict[str, JSON], roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = [r for r in roots if r in state]
    while todo:
        model_id = todo.pop()
        if model_id in seen:
            continue
        seen.add(model_id)
        todo.extend(ref for ref in _refs(state[model_id]) if ref in state and ref not in seen)
    return seen


def _refs(value: JSON) -> list[str]:
    """The model ids a model's state names: ``"IPY_MODEL_<id>"`` (children, layouts) and the
    ``model_id`` of a widget view inside it (an Output widget's outputs), in lists and dicts too."""
    if isinstance(value, str):
        return [value[len(_MODEL_REF):]] if value.startswith(_MODEL_REF) else []
    if isinstance(value, dict):
        view = value.get(WIDGET_MIME)
        shown = [view["model_id"]] if isinstance(view, dict) and isinstance(view.get("model_id"), str) else []
        return shown + [ref for v in value.values() for ref in _refs(v)]
    if isinstance(value, list):
        return [ref for v in value for ref in _refs(v)]
    return []
