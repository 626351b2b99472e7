"""Past runs as ML Metadata recorded them: their steps, how each ended, and the artifacts they made.

A run's artifacts are the inputs of its Report step, or for a run without one its steps' outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import functools
import os

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.artifacts import run_report
from components.artifacts.ref import ArtifactRef, artifact_ref
from components.artifacts.run_report import REPORT_KEY, REPORT_STEP
from components.report import StepRecord
from pipeline.pipeline import report_input_sources
from pipeline.stored_uris import resolve_stored_uri

_Execution = metadata_store_pb2.Execution
_Event = metadata_store_pb2.Event
# Step states: run, or a cache hit.
EXECUTED = _Execution.State.Name(_Execution.COMPLETE)
CACHED = _Execution.State.Name(_Execution.CACHED)
_FAILED = _Execution.State.Name(_Execution.FAILED)
_CANCELED = _Execution.State.Name(_Execution.CANCELED)
# The custom property of a step a signal stopped (of the run, when it came between two steps):
# ``interrupted`` or ``terminated``.
STOPPED_BY_PROPERTY = "stopped_by"
# The context type of a run in ML Metadata (TFX's).
RUN_CONTEXT_TYPE = "pipeline_run"
# The custom property of a failed step whose error the run knew: ``ValueError: ...``.
ERROR_PROPERTY = "error"
# (step id, output key) -> report input, to find a run's report inputs among its steps' outputs: the DAG's
# own wiring of the Report (an input need not be named as its output: DriftCheck's anomalies feed drift).
_input_by_output = functools.cache(report_input_sources)
# (execution type, output key) -> report input, for an execution recorded without its node context (whose
# step id is then unknown): matched by its type where only one step of the pipeline has that type.
_input_by_producer_type = functools.cache(functools.partial(report_input_sources, by_type=True))


class RunNotFoundError(LookupError):
    """The metadata store has no such run (or no run at all)."""


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One pipeline run as ML Metadata recorded it: steps in order (no resolvers), report inputs, properties."""

    run_id: str
    pipeline_name: str
    steps: tuple[StepRecord, ...]
    inputs: dict[str, ArtifactRef]
    step_properties: dict[str, dict[str, str]]
    report_uri: str | None
    stopped_by: str | None = None  # a signal that came between two steps

    @property
    def states(self) -> tuple[tuple[str, str], ...]:
        """(node, state) of each step, in execution order."""
        return tuple((step.node, step.state) for step in self.steps)

    def count(self, state: str) -> int:
        """How many steps ended in ``state`` (:data:`EXECUTED`, :data:`CACHED`)."""
        return sum(step.state == state for step in self.steps)

    @property
    def outcome(self) -> str:
        """``complete``, ``failed``, ``interrupted``/``terminated`` (a signal), or ``unfinished``.

        Unfinished: a step still RUNNING, in a run going on now or in one killed outright (SIGKILL).
        """
        states = [step.state for step in self.steps]
        if _FAILED in states:
            return "failed"
        for step in self.steps:
            if step.state == _CANCELED:
                return self.step_properties.get(step.node, {}).get(STOPPED_BY_PROPERTY) or "stopped"
        if self.stopped_by:
            return self.stopped_by
        return "complete" if all(state in (EXECUTED, CACHED) for state in states) else "unfinished"


def open_store(metadata_path: str) -> metadata_store.MetadataStore:
    """The SQLite ML Metadata store of a local run, read-only."""
    if "://" not in metadata_path and not os.path.isfile(metadata_path):
        raise RunNotFoundError(f"no ML Metadata store at {metadata_path}: has a run written to this output?")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    try:
        return metadata_store.MetadataStore(config)
    except RuntimeError as error:  # not an SQLite file, or not an ML Metadata store
        reason = str(error).split(" query:  ", 1)[0]  # SQLite's reason, without the SQL text
        raise RunNotFoundError(f"cannot open the ML Metadata store {metadata_path}: {reason}") from error


def _property_text(value: metadata_store_pb2.Value) -> str:
    kind = value.WhichOneof("value")
    return str(getattr(value, kind)) if kind else ""


def node_names(store: metadata_store.MetadataStore, execution_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Execution id -> (pipeline name, node id), from the executions' node contexts."""
    node_type = store.get_context_type("node")
    return {
        execution_id: context.name.partition(".")[::2]  # a node context is named <pipeline>.<node>
        for execution_id in execution_ids
        for context in store.get_contexts_by_execution(execution_id)
        if context.type_id == node_type.id
    }


def list_runs(
    store: metadata_store.MetadataStore, pipeline_name: str | None = None, output: str | None = None
) -> Iterator[RunRecord]:
    """Every run in the store (of ``pipeline_name`` only, if given), newest first, read lazily.

    ``output``, the folder holding the store, resolves URIs an earlier version recorded as relative.
    """

    def ref(artifact) -> ArtifactRef:
        found = artifact_ref(artifact)
        return (
            found if output is None else dataclasses.replace(found, uri=resolve_stored_uri(found.uri, output))
        )

    runs = sorted(
        store.get_contexts_by_type(RUN_CONTEXT_TYPE),
        key=lambda c: (c.create_time_since_epoch, c.id),
        reverse=True,
    )
    type_names = {t.id: t.name for t in store.get_execution_types()}
    for run in runs:
        executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
        # Resolvers pick inputs (the baseline model); their outputs are not the run's.
        executions = [e for e in executions if not type_names[e.type_id].endswith("Resolver")]
        if not executions:
            continue
        nodes = node_names(store, [e.id for e in executions])
        pipelines = {pipeline for pipeline, _node in nodes.values()}
        if pipeline_name is not None and pipeline_name not in pipelines:
            continue
        events = store.get_events_by_execution_ids([e.id for e in executions])
        artifacts = {
            a.id: a for a in store.get_artifacts_by_id(sorted({event.artifact_id for event in events}))
        }
        steps, properties, node_of = [], {}, {}
        report_execution = None
        for execution in executions:
            node = node_of[execution.id] = nodes.get(execution.id, ("", type_names[execution.type_id]))[1]
            seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000
            steps.append(
                StepRecord(node, _Execution.State.Name(execution.last_known_state), execution.id, seconds)
            )
            # The report's own properties (every step's, as JSON) are not configuration; how it ended is.
            shown = {
                name: value
                for name, value in execution.custom_properties.items()
                if node != REPORT_STEP or name == STOPPED_BY_PROPERTY
            }
            if node == REPORT_STEP:
                report_execution = execution
            if node != REPORT_STEP or shown:
                properties[node] = {name: _property_text(value) for name, value in sorted(shown.items())}
        inputs: dict[str, ArtifactRef] = {}
        report_uri = None
        for event in events:
            if not event.path.steps:
                continue
            key, artifact = event.path.steps[0].key, artifacts[event.artifact_id]
            if report_execution is None:  # the steps' outputs that feed a report input
                if event.type == _Event.OUTPUT:
                    input_key = (
                        _input_by_output().get((node_of[event.execution_id], key))
                        if event.execution_id in nodes
                        else _input_by_producer_type().get((node_of[event.execution_id], key))
                    )
                    if input_key is not None:
                        inputs[input_key] = ref(artifact)
            elif event.execution_id == report_execution.id:
                if event.type == _Event.INPUT and key in run_report.INPUT_KEYS:
                    inputs[key] = ref(artifact)
                elif event.type == _Event.OUTPUT and key == REPORT_KEY:
                    report_uri = ref(artifact).uri
        stopped_by = run.custom_properties.get(STOPPED_BY_PROPERTY)
        yield RunRecord(
            run_id=run.name,
            pipeline_name=next(iter(sorted(pipelines)), ""),
            steps=tuple(steps),
            inputs=inputs,
            step_properties=properties,
            report_uri=report_uri,
            stopped_by=stopped_by.string_value if stopped_by is not None else None,
        )


def find_run(
    runs: Iterable[RunRecord],
    run_id: str | None,
    pipeline_name: str | None = None,
    store: metadata_store.MetadataStore | None = None,
) -> RunRecord:
    """The run named ``run_id``, or the first (newest) run; stops reading ``runs`` there. ``runs`` are those
    of ``pipeline_name`` if given: without any, the error names the pipelines ``store`` holds runs of."""
    newest = []
    for run in runs:
        if run_id is None or run.run_id == run_id:
            return run
        if len(newest) < 5:
            newest.append(run.run_id)
    if (
        not newest
        and pipeline_name is not None
        and (held := sorted({run.pipeline_name for run in list_runs(store)}))
    ):
        raise RunNotFoundError(
            f"the metadata store holds no run of pipeline {pipeline_name!r}; it holds runs of {', '.join(held)}"
        )
    if not newest:
        raise RunNotFoundError("the metadata store has no pipeline run")
    raise RunNotFoundError(f"no run {run_id!r}; newest runs: {', '.join(newest)}")
