"""The drift check's ExampleAnomalies artifact: ``Split-<name>/SchemaDiff.pb`` (as TFX's) and ``drift.json``.

Custom properties: ``span``, ``baseline_span`` (absent on the first span),
``drift_over_threshold``, ``drift_not_compared`` and ``drift_warnings`` (messages when the check only warns).
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
import json
import os
from typing import Any, NamedTuple

from components.artifacts.files import read_json, write_json
from components.artifacts.statistics import SPAN_PROPERTY, spans_name, split_dir

ANOMALIES_KEY = "anomalies"
DRIFT_FILE = "drift.json"
SCHEMA_DIFF_FILE = "SchemaDiff.pb"
BASELINE_SPAN_PROPERTY = "baseline_span"
OVER_THRESHOLD_PROPERTY = "drift_over_threshold"
NOT_COMPARED_PROPERTY = "drift_not_compared"
WARNINGS_PROPERTY = "drift_warnings"

# The checks (each with its threshold and action in the drift options).
LABEL = "label"
LENGTH = "length"
OOV = "oov"
# What is compared: a split with the same split of the previous span, or train with test.
DRIFT = "drift"
SKEW = "skew"

# tensorflow_metadata's measurement type of each check; over its threshold, the reason COMPARATOR_<type>_HIGH.
_MEASURE = {LABEL: "L_INFTY", LENGTH: "JENSEN_SHANNON_DIVERGENCE", OOV: "NORMALIZED_ABSOLUTE_DIFFERENCE"}
_FEATURE = {LABEL: "label", LENGTH: "text", OOV: "text"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One comparison: ``check`` of ``split`` against ``baseline`` (``span 1``, ``test``) by ``kind``."""

    check: str
    kind: str
    split: str
    baseline: str
    distance: float
    threshold: float
    message: str

    @property
    def exceeded(self) -> bool:
        return self.distance > self.threshold


@dataclasses.dataclass(frozen=True)
class NotCompared:
    """A comparison not made, named as a :class:`Finding` would be (``split`` None: no split of
    ``baseline``); ``what`` and ``reason`` as the step logs it: ``{what} not compared: {reason}``."""

    kind: str
    split: str | None
    baseline: str
    what: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.what} not compared: {self.reason}"


class DriftFindings(NamedTuple):
    """The comparisons of ``drift.json``: this span against ``baseline_span`` (None on the first), train/test;
    of a window of several spans, ``span`` is its last and ``first_span`` its first (the baseline's likewise);
    ``not_compared``: the comparisons not made, and why (none in a ``drift.json`` written before they were kept)."""

    findings: list[Finding]
    span: int | None
    baseline_span: int | None
    first_span: int | None = None
    baseline_first_span: int | None = None
    not_compared: Sequence[NotCompared] = ()

    def compared(self) -> str:
        """What was compared, as the report says it: ``spans 2 to 3 against span 1``."""
        if self.span is None:
            return "this span"
        name = spans_name(self.first_span, self.span)
        if self.baseline_span is None:
            return name
        return f"{name} against {spans_name(self.baseline_first_span, self.baseline_span)}"

    def baseline_not_compared(self) -> str | None:
        """Why the statistics handed over as the baseline were not compared (they are not of spans before this
        window's: the portable resolver's), as the report and the step line say it; None when none was."""
        handed = [entry.baseline for entry in self.not_compared if entry.split is None]
        return not_earlier(handed[0]) if handed else None


def not_earlier(baseline: str) -> str:
    """Why the statistics of ``baseline`` (``span 2``), handed over, are no baseline."""
    return f"the statistics handed over are of {baseline}, not of earlier spans"


def anomalies_proto(findings: list[Finding], split: str) -> Any:
    """The tensorflow_metadata ``Anomalies`` of one split's comparisons."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2, path_pb2

    result = anomalies_pb2.Anomalies()
    for finding in findings:
        if finding.split != split:
            continue
        measurement = anomalies_pb2.DriftSkewInfo.Measurement(
            type=anomalies_pb2.DriftSkewInfo.Measurement.Type.Value(_MEASURE[finding.check]),
            value=finding.distance,
            threshold=finding.threshold,
        )
        info = result.drift_skew_info.add(path=path_pb2.Path(step=[_FEATURE[finding.check], finding.check]))
        (info.drift_measurements if finding.kind == DRIFT else info.skew_measurements).append(measurement)
        if finding.exceeded:
            anomaly = result.anomaly_info[f"{_FEATURE[finding.check]}.{finding.check}.{finding.kind}"]
            anomaly.severity = anomalies_pb2.AnomalyInfo.ERROR
            anomaly.short_description = f"{finding.check} {finding.kind}"
            anomaly.description = finding.message
            anomaly.reason.add(
                type=anomalies_pb2.AnomalyInfo.Type.Value(f"COMPARATOR_{_MEASURE[finding.check]}_HIGH"),
                short_description=f"{finding.check} {finding.kind}",
                description=finding.message,
            )
    return result


def write_anomalies(
    artifact: Any,
    findings: list[Finding],
    span: int | None,
    baseline_span: int | None,
    warnings: list[Finding],
    first_spans: tuple[int | None, int | None] = (None, None),
    not_compared: Sequence[NotCompared] = (),
) -> None:
    """Writes ``drift.json`` and ``Split-<name>/SchemaDiff.pb`` into ``artifact`` and sets its properties;
    ``first_spans``: the first span of this window and of the baseline's (None: one span)."""
    import tensorflow as tf
    from tfx.utils import io_utils

    splits = sorted({finding.split for finding in findings})
    for split in splits:
        path = os.path.join(split_dir(artifact.uri, split), SCHEMA_DIFF_FILE)
        io_utils.write_bytes_file(
            path, anomalies_proto(findings, split).SerializeToString(deterministic=True)
        )
    tf.io.gfile.makedirs(artifact.uri)
    document = {
        "span": span,
        "baseline_span": baseline_span,
        "first_span": first_spans[0],
        "baseline_first_span": first_spans[1],
        "findings": [{**dataclasses.asdict(finding), "exceeded": finding.exceeded} for finding in findings],
        "not_compared": [{**dataclasses.asdict(entry), "message": entry.message} for entry in not_compared],
    }
    write_json(os.path.join(artifact.uri, DRIFT_FILE), document, indent=1)
    artifact.split_names = json.dumps(splits)
    if span is not None:
        artifact.span = span
        artifact.set_int_custom_property(SPAN_PROPERTY, span)
    if baseline_span is not None:
        artifact.set_int_custom_property(BASELINE_SPAN_PROPERTY, baseline_span)
    artifact.set_int_custom_property(OVER_THRESHOLD_PROPERTY, sum(finding.exceeded for finding in findings))
    artifact.set_int_custom_property(NOT_COMPARED_PROPERTY, len(not_compared))
    artifact.set_string_custom_property(WARNINGS_PROPERTY, "; ".join(finding.message for finding in warnings))


def read_findings(uri: str) -> DriftFindings | None:
    """The comparisons in ``drift.json`` with the span and the baseline span, and those not made; None when absent."""
    document = read_json(os.path.join(uri, DRIFT_FILE))
    if document is None:
        return None
    return DriftFindings(
        findings=_entries(Finding, document["findings"], "exceeded"),
        not_compared=_entries(NotCompared, document.get("not_compared", []), "message"),
        **{key: document.get(key) for key in ("span", "baseline_span", "first_span", "baseline_first_span")},
    )


def _entries(kind: type, entries: list[dict], derived: str) -> list:
    """Each entry of ``drift.json`` as ``kind``, less the ``derived`` key written along for its readers."""
    return [kind(**{key: value for key, value in entry.items() if key != derived}) for entry in entries]
