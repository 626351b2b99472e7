"""The canary's InfraBlessing: TFX InfraValidator's marker file and ``blessed``, plus ``canary.json``."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from components.artifacts.files import read_json, write_json

RESULTS_FILE = "canary.json"
BLESSED_FILE = "INFRA_BLESSED"
NOT_BLESSED_FILE = "INFRA_NOT_BLESSED"
# TFX's InfraValidator and Pusher name this property so.
BLESSED_PROPERTY = "blessed"
FAILURES_PROPERTY = "canary_failures"
LOAD_SECONDS_PROPERTY = "load_seconds"
BATCH_SECONDS_PROPERTY = "batch_seconds"


@dataclasses.dataclass(frozen=True)
class CanaryResult:
    """The canary's verdict: why the model may not be pushed (none: it may), and the rest of canary.json."""

    failures: tuple[str, ...]
    details: dict[str, Any]

    @property
    def blessed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"blessed": self.blessed, "failures": list(self.failures), **_finite_json(self.details)}


def _finite_json(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``nan``, ``inf``, ``-inf`` (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_json(item) for item in value]
    return value


def write_result(blessing: Any, result: CanaryResult) -> None:
    """Writes the marker file and ``canary.json`` and sets the artifact's (a TFX artifact) custom properties."""
    from tfx.utils import io_utils

    io_utils.write_string_file(
        os.path.join(blessing.uri, BLESSED_FILE if result.blessed else NOT_BLESSED_FILE), ""
    )
    write_json(os.path.join(blessing.uri, RESULTS_FILE), result.to_json(), sort_keys=True, allow_nan=False)
    blessing.set_int_custom_property(BLESSED_PROPERTY, int(result.blessed))
    blessing.set_string_custom_property(FAILURES_PROPERTY, "; ".join(result.failures))
    if isinstance(result.details.get("load_seconds"), float):
        blessing.set_float_custom_property(LOAD_SECONDS_PROPERTY, result.details["load_seconds"])
    batch = [s for s in (result.details.get("batch_seconds") or {}).values() if isinstance(s, float)]
    if batch:
        blessing.set_float_custom_property(BATCH_SECONDS_PROPERTY, max(batch))


def read_result(uri: str) -> dict[str, Any] | None:
    """``canary.json`` of an InfraBlessing artifact, or None if it has none."""
    return read_json(os.path.join(uri, RESULTS_FILE))


def describe(infra_blessing: Any) -> str | None:
    """``canary passed`` or ``canary FAILED (reasons)`` from an InfraBlessing's (an ``ArtifactRef``) properties;
    None without the artifact or its verdict."""
    blessed = infra_blessing.properties.get(BLESSED_PROPERTY) if infra_blessing is not None else None
    if blessed is None:
        return None
    failures = infra_blessing.properties.get(FAILURES_PROPERTY)
    return "canary passed" if blessed else f"canary FAILED ({failures or 'no reason recorded'})"
