"""What a run did, read back from ML Metadata: steps run or cached, metrics, blessing, push."""

from __future__ import annotations

import dataclasses

from components.artifacts import drift_anomalies, pushed_model, run_report
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from pipeline import run_records


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """The outcome of the latest run of one pipeline in a metadata store."""

    pipeline_name: str
    run_id: str
    steps: tuple[tuple[str, str], ...]  # (node id, state) in execution order
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    blessed: bool | None
    blessing_failures: tuple[str, ...]
    pushed_destination: str | None
    seconds: float | None = None
    canary_blessed: bool | None = None
    canary_failures: str | None = None
    drift_warnings: str | None = None

    @property
    def cached_steps(self) -> list[str]:
        return run_records.steps_in_state(self.steps, run_records.CACHED)

    @property
    def executed_steps(self) -> list[str]:
        return run_records.steps_in_state(self.steps, run_records.EXECUTED)

    def one_line(self) -> str:
        parts = [
            f"{self.pipeline_name} run {self.run_id}: {len(self.steps)} steps "
            f"({len(self.executed_steps)} executed, {len(self.cached_steps)} cached)"
            + (f" in {self.seconds:.0f} s" if self.seconds is not None else "")
        ]
        if self.metrics:
            parts.append("test " + _format_metrics(self.metrics, evaluation_artifact.REPORTED_METRICS))
        if self.baseline_metrics:
            parts.append(
                "baseline " + _format_metrics(self.baseline_metrics, evaluation_artifact.HEADLINE_METRICS)
            )
        if self.blessed:
            parts.append("blessed")
        elif self.blessed is False:
            parts.append("NOT blessed (" + "; ".join(self.blessing_failures) + ")")
        canary = canary_results.describe(self.canary_blessed, self.canary_failures)
        if canary:
            parts.append(canary)
        parts.append(f"pushed to {self.pushed_destination}" if self.pushed_destination else "not pushed")
        if self.drift_warnings:
            parts.append(f"drift warning: {self.drift_warnings}")
        return "; ".join(parts)


def _format_metrics(metrics: dict[str, float], names: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {metrics[name]:.4f}" for name in names if name in metrics)


def summarize_latest_run(metadata_path: str, pipeline_name: str, seconds: float | None = None) -> RunSummary:
    """Summarises the newest run of ``pipeline_name`` in the store; LookupError if it has none (or no store)."""
    run = next(run_records.list_runs(run_records.open_store(metadata_path), pipeline_name), None)
    if run is None:
        raise LookupError(f"no run of pipeline {pipeline_name!r} in {metadata_path}")
    evaluation = None
    if run_report.EVALUATION in run.inputs:
        evaluation = evaluation_artifact.read_evaluation(run.inputs[run_report.EVALUATION].uri)
    pushed = run.inputs.get(run_report.PUSHED_MODEL)
    pushed_destination = None
    if pushed is not None and pushed.properties.get(pushed_model.PUSHED_PROPERTY):
        pushed_destination = pushed.properties.get(pushed_model.PUSHED_DESTINATION_PROPERTY)
    canary = run.inputs.get(run_report.INFRA_BLESSING)
    canary_blessed = None
    if canary is not None and canary.properties.get(canary_results.BLESSED_PROPERTY) is not None:
        canary_blessed = bool(canary.properties[canary_results.BLESSED_PROPERTY])
    drift = run.inputs.get(run_report.DRIFT)
    return RunSummary(
        pipeline_name=pipeline_name,
        run_id=run.run_id,
        steps=run.states,
        metrics=evaluation.candidate_metrics if evaluation else {},
        baseline_metrics=evaluation.baseline_metrics if evaluation else {},
        blessed=evaluation_artifact.read_blessing(run.inputs.get(run_report.BLESSING)),
        blessing_failures=evaluation.failures if evaluation else (),
        pushed_destination=pushed_destination,
        seconds=seconds,
        canary_blessed=canary_blessed,
        canary_failures=canary.properties.get(canary_results.FAILURES_PROPERTY) if canary else None,
        drift_warnings=drift.properties.get(drift_anomalies.WARNINGS_PROPERTY) or None if drift else None,
    )
