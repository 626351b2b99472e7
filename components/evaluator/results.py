"""Reading the Evaluator's output: candidate and baseline metrics, and why blessing failed."""

import dataclasses

from components.evaluator import eval_config


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The overall-slice metrics of the candidate (and baseline) and why blessing failed."""

    candidate: dict[str, float]
    baseline: dict[str, float]
    failures: tuple[str, ...]


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


def describe_failure(failure) -> str:
    """One readable line for a TFMA validation failure."""
    key = failure.metric_key
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if key.is_diff:
        return (
            f"{key.name} changed by {value:+.4f} vs the baseline; "
            f"required {describe_change_condition(threshold.change_threshold)}"
        )
    return f"{key.name} {value:.4f}; required {describe_bound(threshold.value_threshold)}"


def read_evaluation(uri: str) -> Evaluation:
    """Reads a TFX Evaluator output (TFMA metrics and validation result)."""
    import tensorflow_model_analysis as tfma

    by_model: dict[str, dict[str, float]] = {eval_config.CANDIDATE_MODEL: {}, eval_config.BASELINE_MODEL: {}}
    for metrics_for_slice in tfma.load_metrics(uri):
        if metrics_for_slice.slice_key.single_slice_keys:
            continue  # only the overall slice
        for key_and_value in metrics_for_slice.metric_keys_and_values:
            key, value = key_and_value.key, key_and_value.value
            if key.is_diff or not value.HasField("double_value"):
                continue
            model = key.model_name or eval_config.CANDIDATE_MODEL
            by_model.setdefault(model, {})[key.name] = value.double_value.value
    failures = tuple(
        describe_failure(failure)
        for per_slice in tfma.load_validation_result(uri).metric_validations_per_slice
        for failure in per_slice.failures
    )
    return Evaluation(
        candidate=by_model[eval_config.CANDIDATE_MODEL],
        baseline=by_model[eval_config.BASELINE_MODEL],
        failures=failures,
    )
