"""Runway's model catalog and request validation (stdlib only), in one namespace.

The pieces live in their own modules; this one gathers the names callers use:

- :mod:`~runway_nb.api.catalog_data`: ``catalog.json``, read lazily once (importing is cheap);
  ``ENDPOINTS``, ``ModelInfo``;
- :mod:`~runway_nb.api.lookup`: ``models``, ``get``, ``endpoints_for_model``, ``infer_endpoint``;
- :mod:`~runway_nb.api.validation`: ``validate``, built on the JSON-Schema-subset checker in
  :mod:`~runway_nb.api.schema_validator` and the prose rules in :mod:`~runway_nb.api.rules`;
  it raises :class:`runway_nb.errors.ValidationError` naming the field path, the bad value and
  what is allowed, with every problem found in ``err.errors``;
- :mod:`~runway_nb.api.estimates`: output sizes, durations and credits (estimates for planning
  and for the offline simulator; Runway's own answer is authoritative);
- :mod:`~runway_nb.api.examples`: ``example_body``.
"""

from __future__ import annotations

from runway_nb.api.catalog_data import ENDPOINTS, OUTPUT_KINDS, SEED_MAX, ModelInfo
from runway_nb.api.estimates import (
    NOMINAL_INPUT_SECONDS,
    estimate_credits,
    output_duration,
    output_size,
    ratio_size,
    ratio_sizes,
)
from runway_nb.api.examples import example_body
from runway_nb.api.lookup import endpoints_for_model, find_for_body, get, infer_endpoint, model_key, models
from runway_nb.api.validation import validate

__all__ = [
    "ENDPOINTS",
    "NOMINAL_INPUT_SECONDS",
    "OUTPUT_KINDS",
    "SEED_MAX",
    "ModelInfo",
    "endpoints_for_model",
    "estimate_credits",
    "example_body",
    "find_for_body",
    "get",
    "infer_endpoint",
    "model_key",
    "models",
    "output_duration",
    "output_size",
    "ratio_size",
    "ratio_sizes",
    "validate",
]
