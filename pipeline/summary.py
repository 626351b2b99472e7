"""What a run did, read back from ML Metadata: steps run or cached, metrics, blessing, push."""

from __future__ import annotations

import collections
import dataclasses
import logging

from components.artifacts import drift_anomalies, pushed_model, run_report
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from components.plural import counted
from pipeline import run_records

logger = logging.getLogger(__name__)


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
    pushed_version: str | None = None
    seconds: float | None = None
    canary: str | None = None  # canary passed / FAILED (reasons), None without a canary
    drift_warnings: str | None = None

    def push_text(self) -> str:
        return f"pushed to {self.pushed_destination}" if self.pushed_destination else "not pushed"

    def one_line(self) -> str:
        states = collections.Counter(state for _node, state in self.steps)
        parts = [
            f"{self.pipeline_name} run {self.run_id}: {counted(len(self.steps), 'step')} "
            f"({states[run_records.EXECUTED]} executed, {states[run_records.CACHED]} cached)"
            + (f" in {self.seconds:.0f} s" if self.seconds is not None else "")
        ]
        if self.metrics:
            parts.append("test " + evaluation_artifact.format_metrics(self.metrics))
        if self.baseline_metrics:
            baseline = evaluation_artifact.format_metrics(
                self.baseline_metrics, evaluation_artifact.HEADLINE_METRICS
            )
            parts.append("baseline " + baseline)
        if self.blessed:
            parts.append("blessed")
        elif self.blessed is False:
            parts.append("NOT blessed (" + "; ".join(self.blessing_failures) + ")")
        if self.canary:
            parts.append(self.canary)
        parts.append(self.push_text())
        if self.drift_warnings:
            parts.append(f"drift warning: {self.drift_warnings}")
        return "; ".join(parts)


def summarize_latest_run(metadata_path: str, pipeline_name: str, seconds: float | None = None) -> RunSummary:
    """Summarises the newest run of ``pipeline_name`` in the store; LookupError if it has none (or no store)."""
    run = next(run_records.list_runs(run_records.open_store(metadata_path), pipeline_name), None)
    if run is None:
        raise LookupError(f"no run of pipeline {pipeline_name!r} in {metadata_path}")
    return summarize(run, seconds)


def summarize(run: run_records.RunRecord, seconds: float | None = None) -> RunSummary:
    """What one run did, from its evaluation, blessing, canary, drift check and push (absent ones: empty)."""
    evaluated = run.inputs.get(run_report.EVALUATION)
    try:
        evaluation = evaluation_artifact.read_evaluation(evaluated.uri) if evaluated else None
    except FileNotFoundError as error:  # an old run's files cleaned from the pipeline root
        logger.warning("Run %s: %s: its metrics are not shown", run.run_id, error)
        evaluation = None
    drift = run.inputs.get(run_report.DRIFT)
    push = pushed_model.read_push(run.inputs.get(run_report.PUSHED_MODEL))
    return RunSummary(
        pipeline_name=run.pipeline_name,
        run_id=run.run_id,
        steps=run.states,
        metrics=evaluation.candidate_metrics if evaluation else {},
        baseline_metrics=evaluation.baseline_metrics if evaluation else {},
        blessed=evaluation_artifact.read_blessing(run.inputs.get(run_report.BLESSING)),
        blessing_failures=evaluation.failures if evaluation else (),
        pushed_destination=push.destination,
        pushed_version=push.version,
        seconds=seconds,
        canary=canary_results.describe(run.inputs.get(run_report.INFRA_BLESSING)),
        drift_warnings=drift.properties.get(drift_anomalies.WARNINGS_PROPERTY) or None if drift else None,
    )
