"""Reading the Evaluator's output: candidate and baseline metrics, and why blessing failed."""

import dataclasses

from components.evaluator import eval_config


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The overall-slice metrics of the candidate (and baseline) and why blessing failed."""

    candidate: dict[str, float]
    baseline: dict[str, float]
    failures: tuple[str, ...]


def describe_failure(failure) -> str:
    """One readable line for a TFMA threshold failure."""
    name = failure.metric_key.name
    value = failure.metric_value.double_value.value
    threshold = failure.metric_threshold
    if failure.metric_key.is_diff:
        allowed = threshold.change_threshold.absolute.value
        return f"{name} {value:+.4f} vs baseline, allowed {allowed:+g}"
    bound = threshold.value_threshold
    if bound.HasField("lower_bound"):
        return f"{name} {value:.4f} < {bound.lower_bound.value:g}"
    return f"{name} {value:.4f} > {bound.upper_bound.value:g}"


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
