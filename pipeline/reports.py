"""Run reports from ML Metadata: re-render the report of a run and write the index of runs.

``imdb-pipeline report`` uses this. A run's artifacts are found through ML
Metadata: the inputs of its Report step when it has one (exactly what the
pipeline step read), otherwise the outputs of its steps by type and output
name (runs made before the pipeline had a report step).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
import logging
import os
import posixpath
import re
import time

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
import tensorflow as tf

from components import versions
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import pushed_model, run_report
from components.artifacts.ref import ArtifactRef, artifact_ref
from components.artifacts.run_report import REPORT_KEY, REPORT_STEP
from components.report import component, read_inputs, render
from components.report.sections import RunEntry, StepRecord
from pipeline.config import METADATA_FILE
from pipeline.stored_uris import resolve_stored_uri

logger = logging.getLogger(__name__)

REPORTS_DIR = "reports"
_Execution = metadata_store_pb2.Execution
_Event = metadata_store_pb2.Event
# Step states: run, or a cache hit.
EXECUTED = _Execution.State.Name(_Execution.COMPLETE)
CACHED = _Execution.State.Name(_Execution.CACHED)
# (artifact type, output name) -> report input, to find a run's report inputs
# among its steps' outputs: each input is named as the output that feeds it.
_INPUT_BY_OUTPUT = {
    (channel.type.TYPE_NAME, key): key for key, channel in component.ReportSpec.INPUTS.items()
}


class RunNotFoundError(LookupError):
    """The metadata store has no such run (or no run at all)."""


class ReportError(RuntimeError):
    """A run's artifacts cannot be read (deleted or damaged files), or the report cannot be written."""


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One pipeline run as ML Metadata recorded it.

    Attributes:
        run_id: The run's name (its start time).
        pipeline_name: The pipeline it belongs to.
        steps: Its steps in execution order (resolvers left out).
        inputs: Report inputs found for the run.
        step_properties: Step -> execution property -> value.
        report_uri: The run's RunReport artifact, when it has one.
    """

    run_id: str
    pipeline_name: str
    steps: tuple[StepRecord, ...]
    inputs: dict[str, ArtifactRef]
    step_properties: dict[str, dict[str, str]]
    report_uri: str | None

    @property
    def states(self) -> tuple[tuple[str, str], ...]:
        """(node, state) of each step, in execution order."""
        return tuple((step.node, step.state) for step in self.steps)


def steps_in_state(states: Iterable[tuple[str, str]], state: str) -> list[str]:
    """The nodes of (node, state) pairs that ended in ``state`` (:data:`EXECUTED`, :data:`CACHED`)."""
    return [node for node, node_state in states if node_state == state]


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


def _node_names(store: metadata_store.MetadataStore, execution_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Execution id -> (pipeline name, node id), from the executions' node contexts."""
    node_type = store.get_context_type("node")
    names = {}
    for execution_id in execution_ids:
        for context in store.get_contexts_by_execution(execution_id):
            if context.type_id == node_type.id:
                pipeline, _, node = context.name.partition(".")
                names[execution_id] = (pipeline, node)
    return names


def list_runs(
    store: metadata_store.MetadataStore, pipeline_name: str | None = None, output: str | None = None
) -> Iterator[RunRecord]:
    """Every run in the store (of ``pipeline_name`` only, if given), newest first.

    Lazy: each run's executions and artifacts are read only when it is reached,
    so finding the newest run reads one run.

    Args:
        store: The ML Metadata store.
        pipeline_name: Only runs of this pipeline.
        output: The output folder that holds the store: URIs that an earlier
            version recorded relative to its working folder are resolved
            against it (see ``stored_uris.py``).
    """

    def ref(artifact) -> ArtifactRef:
        found = artifact_ref(artifact)
        if output is None:
            return found
        return dataclasses.replace(found, uri=resolve_stored_uri(found.uri, output))

    runs = sorted(
        store.get_contexts_by_type("pipeline_run"),
        key=lambda c: (c.create_time_since_epoch, c.id),
        reverse=True,
    )
    type_names = {t.id: t.name for t in store.get_execution_types()}
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    for run in runs:
        executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
        # Resolvers pick inputs (the baseline model); their outputs are not the run's.
        executions = [e for e in executions if not type_names[e.type_id].endswith("Resolver")]
        if not executions:
            continue
        nodes = _node_names(store, [e.id for e in executions])
        pipelines = {pipeline for pipeline, _node in nodes.values()}
        if pipeline_name is not None and pipeline_name not in pipelines:
            continue
        events = store.get_events_by_execution_ids([e.id for e in executions])
        artifacts = {
            a.id: a for a in store.get_artifacts_by_id(sorted({event.artifact_id for event in events}))
        }
        steps, properties = [], {}
        report_execution = None
        for execution in executions:
            node = nodes.get(execution.id, ("", type_names[execution.type_id]))[1]
            seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000
            steps.append(
                StepRecord(node, _Execution.State.Name(execution.last_known_state), execution.id, seconds)
            )
            if node == REPORT_STEP:
                report_execution = execution
            else:
                properties[node] = {
                    name: _property_text(value) for name, value in sorted(execution.custom_properties.items())
                }
        inputs: dict[str, ArtifactRef] = {}
        report_uri = None
        if report_execution is not None:
            for event in events:
                if event.execution_id != report_execution.id or not event.path.steps:
                    continue
                key = event.path.steps[0].key
                artifact = artifacts[event.artifact_id]
                if event.type == _Event.INPUT and key in run_report.INPUT_KEYS:
                    inputs[key] = ref(artifact)
                elif event.type == _Event.OUTPUT and key == REPORT_KEY:
                    report_uri = ref(artifact).uri
        else:
            for event in events:
                if event.type != _Event.OUTPUT or not event.path.steps:
                    continue
                artifact = artifacts[event.artifact_id]
                key = _INPUT_BY_OUTPUT.get((artifact_types[artifact.type_id], event.path.steps[0].key))
                if key is not None:
                    inputs[key] = ref(artifact)
        yield RunRecord(
            run_id=run.name,
            pipeline_name=next(iter(sorted(pipelines)), ""),
            steps=tuple(steps),
            inputs=inputs,
            step_properties=properties,
            report_uri=report_uri,
        )


def find_run(runs: Iterable[RunRecord], run_id: str | None) -> RunRecord:
    """The run named ``run_id``, or the first (newest) run; stops reading ``runs`` there."""
    newest = []
    for run in runs:
        if run_id is None or run.run_id == run_id:
            return run
        if len(newest) < 5:
            newest.append(run.run_id)
    if not newest:
        raise RunNotFoundError("the metadata store has no pipeline run")
    raise RunNotFoundError(f"no run {run_id!r}; newest runs: {', '.join(newest)}")


def run_dir_name(run_id: str) -> str:
    """A folder name for a run id (its start time): characters other than ``[A-Za-z0-9._-]`` become ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", run_id)


def render_run(output: str, run_id: str | None = None, pipeline_name: str | None = None) -> str:
    """Re-renders a run's report (the newest by default) into ``<output>/reports/<run>/report.html``.

    Returns:
        The path of the written report.

    Raises:
        RunNotFoundError: no metadata store, no run, or no run of that id.
        ReportError: the run's artifacts cannot be read, or the report written.
    """
    store = open_store(posixpath.join(output, METADATA_FILE))
    run = find_run(list_runs(store, pipeline_name, output), run_id)
    started = time.monotonic()
    try:
        report = read_inputs.collect_report(
            run.inputs,
            run.step_properties,
            run_report.read_versions(run.report_uri) or versions.library_versions(),
            title=f"{run.pipeline_name} run report",
            run_id=run.run_id,
            steps=run.steps,
        )
        directory = posixpath.join(output, REPORTS_DIR, run_dir_name(run.run_id))
        tf.io.gfile.makedirs(directory)
        path = posixpath.join(directory, run_report.REPORT_FILE)
        html = render.render_report(report)
        with tf.io.gfile.GFile(path, "w") as f:
            f.write(html)
    except (OSError, tf.errors.OpError) as error:
        raise ReportError(f"run {run.run_id}: {_describe(error)}") from error
    logger.info("Report of run %s written to %s in %.1f s", run.run_id, path, time.monotonic() - started)
    return path


def _describe(error: Exception) -> str:
    if isinstance(error, tf.errors.OpError):
        return error.message
    return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)


def _href(index_dir: str, target: str) -> str:
    if "://" in target:
        return target
    return os.path.relpath(target, index_dir)


def run_entry(run: RunRecord, index_dir: str) -> RunEntry:
    """One index row: metrics, blessing and push of a run, and a link to its report."""
    metrics: dict[str, float] = {}
    if run_report.EVALUATION in run.inputs:
        metrics = evaluation_artifact.read_evaluation(run.inputs[run_report.EVALUATION].uri).candidate_metrics
    blessed = evaluation_artifact.read_blessing(run.inputs.get(run_report.BLESSING))
    pushed = run.inputs.get(run_report.PUSHED_MODEL)
    pushed_version = None
    if pushed is not None and pushed.properties.get(pushed_model.PUSHED_PROPERTY):
        pushed_version = pushed.properties.get(pushed_model.PUSHED_VERSION_PROPERTY)
    rerendered = posixpath.join(index_dir, run_dir_name(run.run_id), run_report.REPORT_FILE)
    if tf.io.gfile.exists(rerendered):
        href = _href(index_dir, rerendered)
    elif run.report_uri:
        href = _href(index_dir, posixpath.join(run.report_uri, run_report.REPORT_FILE))
    else:
        href = None
    return RunEntry(
        run_id=run.run_id,
        executed=len(steps_in_state(run.states, EXECUTED)),
        cached=len(steps_in_state(run.states, CACHED)),
        metrics=metrics,
        blessed=blessed,
        pushed_version=pushed_version,
        report_href=href,
    )


def write_index(output: str, pipeline_name: str | None = None) -> str:
    """Writes ``<output>/reports/index.html`` listing every run, newest first; returns its path.

    Raises:
        RunNotFoundError: no metadata store.
        ReportError: a run's artifacts cannot be read, or the index written.
    """
    store = open_store(posixpath.join(output, METADATA_FILE))
    runs = list(list_runs(store, pipeline_name, output))
    index_dir = posixpath.join(output, REPORTS_DIR)
    try:
        tf.io.gfile.makedirs(index_dir)
        names = sorted({run.pipeline_name for run in runs}) or [pipeline_name or ""]
        html = render.render_index(f"{', '.join(names)} runs", [run_entry(run, index_dir) for run in runs])
        path = posixpath.join(index_dir, render.INDEX_FILE)
        with tf.io.gfile.GFile(path, "w") as f:
            f.write(html)
    except (OSError, tf.errors.OpError) as error:
        raise ReportError(f"index of runs: {_describe(error)}") from error
    return path
