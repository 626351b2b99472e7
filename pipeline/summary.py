"""What a run did, read back from ML Metadata: steps run or cached, metrics, blessing, push."""

from __future__ import annotations

import dataclasses

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.evaluator import eval_config
from components.evaluator.results import Evaluation, read_evaluation

_Execution = metadata_store_pb2.Execution
_Event = metadata_store_pb2.Event
_METRICS_SHOWN = (
    eval_config.ACCURACY,
    eval_config.AUC,
    eval_config.PRECISION,
    eval_config.RECALL,
    eval_config.LOSS,
)


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

    @property
    def cached_steps(self) -> list[str]:
        return [node for node, state in self.steps if state == "CACHED"]

    @property
    def executed_steps(self) -> list[str]:
        return [node for node, state in self.steps if state == "COMPLETE"]

    def one_line(self) -> str:
        parts = [
            f"{self.pipeline_name} run {self.run_id}: {len(self.steps)} steps "
            f"({len(self.executed_steps)} executed, {len(self.cached_steps)} cached)"
            + (f" in {self.seconds:.0f} s" if self.seconds is not None else "")
        ]
        if self.metrics:
            parts.append("test " + _format_metrics(self.metrics, _METRICS_SHOWN))
        if self.baseline_metrics:
            parts.append("baseline " + _format_metrics(self.baseline_metrics, _METRICS_SHOWN[:2]))
        if self.blessed:
            parts.append("blessed")
        elif self.blessed is False:
            parts.append("NOT blessed (" + "; ".join(self.blessing_failures) + ")")
        parts.append(f"pushed to {self.pushed_destination}" if self.pushed_destination else "not pushed")
        return "; ".join(parts)


def _format_metrics(metrics: dict[str, float], names: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {metrics[name]:.4f}" for name in names if name in metrics)


def _is_resolver(store: metadata_store.MetadataStore, execution: metadata_store_pb2.Execution) -> bool:
    """Resolver nodes pick inputs from ML Metadata; they are not pipeline steps."""
    return store.get_execution_types_by_id([execution.type_id])[0].name.endswith("Resolver")


def _store(metadata_path: str) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def summarize_latest_run(metadata_path: str, pipeline_name: str, seconds: float | None = None) -> RunSummary:
    """Summarises the most recent run of ``pipeline_name`` recorded in the store."""
    store = _store(metadata_path)
    pipeline_context = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline_context is None:
        raise LookupError(f"no run of pipeline {pipeline_name!r} in {metadata_path}")
    in_pipeline = {execution.id for execution in store.get_executions_by_context(pipeline_context.id)}
    runs = sorted(
        store.get_contexts_by_type("pipeline_run"),
        key=lambda c: (c.create_time_since_epoch, c.id),
        reverse=True,
    )
    for run in runs:
        executions = [e for e in store.get_executions_by_context(run.id) if e.id in in_pipeline]
        if executions:
            break
    else:
        raise LookupError(f"no run of pipeline {pipeline_name!r} in {metadata_path}")

    executions.sort(key=lambda e: e.id)
    steps = []
    outputs: dict[str, list[metadata_store_pb2.Artifact]] = {}
    events = store.get_events_by_execution_ids([e.id for e in executions])
    artifacts = {a.id: a for a in store.get_artifacts_by_id([event.artifact_id for event in events])}
    for execution in executions:
        node = next(
            c.name.split(".", 1)[-1]
            for c in store.get_contexts_by_execution(execution.id)
            if store.get_context_types_by_id([c.type_id])[0].name == "node"
        )
        if _is_resolver(store, execution):
            continue
        steps.append((node, _Execution.State.Name(execution.last_known_state)))
        outputs[node] = [
            artifacts[event.artifact_id]
            for event in events
            if event.execution_id == execution.id and event.type == _Event.OUTPUT
        ]

    evaluation = Evaluation({}, {}, ())
    blessed = None
    pushed = None
    for artifact in (artifact for node_outputs in outputs.values() for artifact in node_outputs):
        type_name = store.get_artifact_types_by_id([artifact.type_id])[0].name
        properties = artifact.custom_properties
        if type_name == "ModelEvaluation":
            evaluation = read_evaluation(artifact.uri)
        elif type_name == "ModelBlessing" and "blessed" in properties:
            blessed = bool(properties["blessed"].int_value)
        elif type_name == "PushedModel" and properties["pushed"].int_value:
            pushed = properties["pushed_destination"].string_value
    return RunSummary(
        pipeline_name=pipeline_name,
        run_id=run.name,
        steps=tuple(steps),
        metrics=evaluation.candidate,
        baseline_metrics=evaluation.baseline,
        blessed=blessed,
        blessing_failures=evaluation.failures,
        pushed_destination=pushed,
        seconds=seconds,
    )
