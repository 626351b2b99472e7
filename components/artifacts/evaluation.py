"""The Evaluator's ModelEvaluation and ModelBlessing: metric, model and slice names, and their one reader.

The headline metrics (and the blessing thresholds) are those of the full
reviews' slice, the test split; in an evaluation written before slicing, TFMA's
overall slice.
"""

from collections.abc import Iterable, Iterator
import dataclasses
import math
import os
import re
from typing import Any, TypeVar

from schemas import features

ACCURACY = "accuracy"
AUC = "auc"
PRECISION = "precision"
RECALL = "recall"
LOSS = "loss"
EXAMPLE_COUNT = "example_count"
# The metrics the run summary, step log, report and index show, in this order;
# the headline ones are those blessing has thresholds for.
REPORTED_METRICS = (ACCURACY, AUC, PRECISION, RECALL, LOSS)
HEADLINE_METRICS = (ACCURACY, AUC)
# For the run report: the exact confusion matrix at the decision threshold, and the plots.
CONFUSION_MATRIX = "confusion_matrix"
DECISION_THRESHOLD = 0.5
CONFUSION_MATRIX_PLOT = "confusion_matrix_plot"
CALIBRATION_PLOT = "calibration_plot"
CALIBRATION_BUCKETS = 20
CANDIDATE_MODEL = "candidate"
BASELINE_MODEL = "baseline"
# Features the full test reviews are also sliced by, each slice one value.
SLICED_BY = (features.RATING, features.LENGTH_BUCKET)
# Slice names (``SliceMetrics.name``) of the test split and of its first sentences.
TEST_SPLIT_SLICE = features.FULL_REVIEW
FIRST_SENTENCE_SLICE = features.FIRST_SENTENCE


def format_metrics(metrics: dict[str, float], names: tuple[str, ...] = REPORTED_METRICS) -> str:
    """``accuracy 0.8123, auc 0.9012``: those of ``names`` in ``metrics``, in that order."""
    return ", ".join(f"{name} {metrics[name]:.4f}" for name in names if name in metrics)


def headline_slice_values() -> dict[str, str]:
    """Feature -> value of the slice that is the test split: the full reviews."""
    return {features.EVALUATION_SET: features.FULL_REVIEW}


def slice_values(slice_key: Any) -> dict[str, str]:
    """A TFMA SliceKey as feature -> value (as text); {} for the overall slice."""
    values = {}
    for single in slice_key.single_slice_keys:
        kind = single.WhichOneof("kind")
        value = getattr(single, kind) if kind else ""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        values[single.column] = f"{value:g}" if isinstance(value, float) else str(value)
    return values


def slice_name(values: dict[str, str]) -> str:
    """``full_review`` or ``first_sentence`` for an evaluation set, ``<feature>=<value>`` for a slice of the
    full reviews (e.g. ``rating=7``, ``length_bucket=100-249``); the overall slice is the test split."""
    rest = {feature: value for feature, value in values.items() if feature != features.EVALUATION_SET}
    if not rest:
        return values.get(features.EVALUATION_SET, TEST_SPLIT_SLICE)
    return ",".join(f"{feature}={value}" for feature, value in sorted(rest.items()))


_PerSlice = TypeVar("_PerSlice")


def headline_of(per_slice: Iterable[_PerSlice]) -> _PerSlice | None:
    """The test split's ``MetricsForSlice`` or ``PlotsForSlice`` of TFMA's per-slice results, or None."""
    overall = None
    for item in per_slice:
        values = slice_values(item.slice_key)
        if values == headline_slice_values():
            return item
        if not values:
            overall = item
    return overall


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The test split's metrics of the candidate (and baseline: None, {} without one) and why blessing failed.

    ``diffs`` are TFMA's candidate-minus-baseline metrics; ``validation_ok`` is None without a
    validation result; ``failed`` holds (metric name, is a diff, slice name) of each failed threshold.
    """

    candidate_model: str
    baseline_model: str | None
    candidate_metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    diffs: dict[str, float]
    validation_ok: bool | None
    failures: tuple[str, ...]
    failed: frozenset[tuple[str, bool, str]] = frozenset()


def describe_bound(threshold) -> str:
    """A TFMA value threshold as a condition, e.g. ``>= 0.7``."""
    lower = threshold.lower_bound.value if threshold.HasField("lower_bound") else None
    upper = threshold.upper_bound.value if threshold.HasField("upper_bound") else None
    if lower is not None and upper is not None:
        return f"between {lower:g} and {upper:g}"
    return f">= {lower:g}" if lower is not None else f"<= {upper:g}"


def describe_change_condition(threshold) -> str:
    """A TFMA change threshold as a condition, e.g. ``candidate - baseline >= -0.01``."""
    from tensorflow_model_analysis.proto import config_pb2

    higher = threshold.direction == config_pb2.MetricDirection.HIGHER_IS_BETTER
    sign = ">=" if higher else "<="
    parts = []
    if threshold.HasField("absolute"):
        parts.append(f"candidate - baseline {sign} {threshold.absolute.value:+g}")
    if threshold.HasField("relative"):
        parts.append(f"(candidate - baseline) / baseline {sign} {threshold.relative.value:+g}")
    return " and ".join(parts)


def describe_failure(failure, slice: str = TEST_SPLIT_SLICE) -> str:
    """One readable line for a TFMA validation failure on ``slice`` (named unless it is the test split)."""
    key = failure.metric_key
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    name = key.name if slice == TEST_SPLIT_SLICE else f"{key.name} on slice {slice}"
    if key.is_diff:
        return (
            f"{name} changed by {value:+.4f} vs the baseline; "
            f"required {describe_change_condition(threshold.change_threshold)}"
        )
    return f"{name} {value:.4f}; required {describe_bound(threshold.value_threshold)}"


def headline_metrics(uri: str) -> Iterator[tuple[Any, Any]]:
    """(MetricKey, MetricValue) of every metric of the test split's slice, diffs included."""
    import tensorflow_model_analysis as tfma

    headline = headline_of(tfma.load_metrics(uri))
    for key_and_value in headline.metric_keys_and_values if headline is not None else ():
        yield key_and_value.key, key_and_value.value


@dataclasses.dataclass(frozen=True)
class SliceMetrics:
    """One slice's (:func:`slice_name`) metrics of one model; ``auc`` is None in a slice of one label."""

    name: str
    example_count: int
    accuracy: float | None
    auc: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {EXAMPLE_COUNT: self.example_count, ACCURACY: self.accuracy, AUC: self.auc}


def _slice_order(name: str) -> tuple:
    # The test split, its first sentences, then each feature's slices by value (numbers as numbers).
    if name in (TEST_SPLIT_SLICE, FIRST_SENTENCE_SLICE):
        return (0, (TEST_SPLIT_SLICE, FIRST_SENTENCE_SLICE).index(name), "", 0, name)
    feature, _, value = name.partition("=")
    number = re.match(r"\d+", value)
    rank = SLICED_BY.index(feature) if feature in SLICED_BY else len(SLICED_BY)
    return (1, rank, feature, int(number.group()) if number else math.inf, value)


def _number(value: Any) -> float | None:
    return value.double_value.value if value is not None and value.HasField("double_value") else None


def read_slice_metrics(uri: str, model_name: str = CANDIDATE_MODEL) -> tuple[SliceMetrics, ...]:
    """Each slice's example count, accuracy and AUC of ``model_name`` (else of the non-baseline model)."""
    import tensorflow_model_analysis as tfma

    per_slice: dict[str, dict[str, dict[str, Any]]] = {}
    for metrics_for_slice in tfma.load_metrics(uri):
        name = slice_name(slice_values(metrics_for_slice.slice_key))
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            key, value = key_and_value.key, key_and_value.value
            if not key.is_diff:
                per_slice.setdefault(key.model_name, {}).setdefault(name, {})[key.name] = value
    if model_name not in per_slice:
        model_name = next((name for name in per_slice if name != BASELINE_MODEL), model_name)
    result = []
    for name, metrics in per_slice.get(model_name, {}).items():
        auc = _number(metrics.get(AUC))
        matrix = metrics.get(CONFUSION_MATRIX)
        if matrix is not None and matrix.HasField("confusion_matrix_at_thresholds"):
            (counts,) = matrix.confusion_matrix_at_thresholds.matrices
            positives = counts.true_positives + counts.false_negatives
            negatives = counts.true_negatives + counts.false_positives
            if not (positives and negatives):
                auc = None
        count = _number(metrics.get(EXAMPLE_COUNT))
        result.append(SliceMetrics(name, int(count or 0), _number(metrics.get(ACCURACY)), auc))
    return tuple(sorted(result, key=lambda metrics: _slice_order(metrics.name)))


def read_evaluation(
    uri: str,
    model_names: tuple[str, str | None] = (CANDIDATE_MODEL, BASELINE_MODEL),
) -> Evaluation:
    """Reads a ModelEvaluation: the test split's metrics and diffs, and the validation result.

    A candidate absent from the metrics (TFMA names a lone model ``""``) is the first non-baseline model.

    Raises:
        FileNotFoundError: ``uri`` is no folder or an empty one (its files removed from the pipeline root).
    """
    import tensorflow as tf
    import tensorflow_model_analysis as tfma

    if not tf.io.gfile.isdir(uri) or not tf.io.gfile.listdir(uri):
        raise FileNotFoundError(
            f"{uri} holds no evaluation: its files were removed, or it is not a ModelEvaluation artifact"
        )
    metrics: dict[str, dict[str, float]] = {}
    diffs: dict[str, float] = {}
    for key, value in headline_metrics(uri):
        if value.HasField("double_value"):
            (diffs if key.is_diff else metrics.setdefault(key.model_name, {}))[key.name] = _number(value)
    candidate, baseline = model_names
    if baseline is not None and baseline not in metrics:
        baseline = None  # the Evaluator had no baseline model to score
    if candidate not in metrics:
        candidate = next((name for name in metrics if name != baseline), candidate)

    try:
        validation = tfma.load_validation_result(uri)
    except (OSError, ValueError, AssertionError, tf.errors.NotFoundError):  # TFMA asserts one record
        validation = None
    found = [
        (slice_name(slice_values(per_slice.slice_key)), failure)
        for per_slice in (validation.metric_validations_per_slice if validation is not None else ())
        for failure in per_slice.failures
    ]
    return Evaluation(
        candidate_model=candidate,
        baseline_model=baseline,
        candidate_metrics=metrics.get(candidate, {}),
        baseline_metrics=metrics.get(baseline, {}) if baseline is not None else {},
        diffs=diffs,
        validation_ok=validation.validation_ok if validation is not None else None,
        failures=tuple(describe_failure(failure, slice) for slice, failure in found),
        failed=frozenset(
            (failure.metric_key.name, failure.metric_key.is_diff, slice) for slice, failure in found
        ),
    )


def read_blessing(blessing: Any) -> bool | None:
    """The blessing decision of a ModelBlessing (an ``ArtifactRef``): its ``blessed`` property, else its marker file."""
    if blessing is None:
        return None
    import tensorflow as tf
    from tfx.components.evaluator import constants as evaluator_constants

    if isinstance(blessing.properties.get(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY), int):
        return bool(blessing.properties[evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY])
    if tf.io.gfile.exists(os.path.join(blessing.uri, evaluator_constants.BLESSED_FILE_NAME)):
        return True
    if tf.io.gfile.exists(os.path.join(blessing.uri, evaluator_constants.NOT_BLESSED_FILE_NAME)):
        return False
    return None
