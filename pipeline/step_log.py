"""One start and one end line per step of a local run, with its duration, outcome and figures, from ML Metadata.

TFX's LocalDagRunner offers no hook around its nodes, but each is an execution in
the run's store (RUNNING or CACHED, then COMPLETE or FAILED, with OUTPUT events):
reading the store covers TFX's standard components as well as ours, without their log text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
import dataclasses
import logging
import os
import threading
import time

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.types import standard_artifacts

from components.artifacts import drift_anomalies, pushed_model, quarantine, run_report
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from components.artifacts.embedding_matrix import COVERAGE_WORDS_PROPERTY as COVERAGE_WORDS
from components.artifacts.embedding_vectors import DIMENSION_PROPERTY as DIMENSION
from components.artifacts.embedding_vectors import WORDS_PROPERTY as WORDS
from components.artifacts.ref import ArtifactRef, artifact_ref
from components.artifacts.statistics import spans_name
from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors, RunReport
from components.plural import counted
from pipeline import interrupts, run_records

logger = logging.getLogger(__name__)

_Execution = metadata_store_pb2.Execution
# How a step that ended well ended; FAILED and CANCELED get a failure line.
_ENDED = {_Execution.COMPLETE: "executed", _Execution.CACHED: "cached"}
_FAILED = (_Execution.FAILED, _Execution.CANCELED)
# Seconds between two reads of the store while a run goes.
POLL_SECONDS = 0.5
_PROJECT_PACKAGES = ("pipeline", "components", "schemas")
_SHOWN_METRICS = (*evaluation_artifact.HEADLINE_METRICS, evaluation_artifact.LOSS)
# Output types in the order their figures are told (ML Metadata returns outputs in no set order).
_FIGURE_ORDER = (
    standard_artifacts.Examples.TYPE_NAME,
    EmbeddingVectors.TYPE_NAME,
    EmbeddingMatrix.TYPE_NAME,
    standard_artifacts.ModelEvaluation.TYPE_NAME,
    standard_artifacts.ModelBlessing.TYPE_NAME,
    standard_artifacts.InfraBlessing.TYPE_NAME,
    standard_artifacts.PushedModel.TYPE_NAME,
)


def describe_outputs(outputs: list[tuple[str, ArtifactRef]]) -> list[str]:
    """Main figures of a step's outputs, (artifact type name, artifact), from their custom properties."""
    figures = []
    rank = {name: i for i, name in enumerate(_FIGURE_ORDER)}
    for type_name, artifact in sorted(outputs, key=lambda output: rank.get(output[0], len(rank))):
        properties = artifact.properties
        if type_name == standard_artifacts.Examples.TYPE_NAME and quarantine.SET_ASIDE_PROPERTY in properties:
            figures.append(f"{counted(properties[quarantine.SET_ASIDE_PROPERTY], 'record')} set aside")
        elif (
            type_name == standard_artifacts.ExampleAnomalies.TYPE_NAME
            and drift_anomalies.OVER_THRESHOLD_PROPERTY in properties
        ):
            over = properties[drift_anomalies.OVER_THRESHOLD_PROPERTY]
            figure = f"{counted(over, 'comparison')} over their threshold ({_drift_compared(artifact)})"
            not_compared = properties.get(drift_anomalies.NOT_COMPARED_PROPERTY)
            figures.append(f"{figure}, {not_compared} not compared" if not_compared else figure)
            if properties.get(drift_anomalies.WARNINGS_PROPERTY):
                figures.append(f"warning: {properties[drift_anomalies.WARNINGS_PROPERTY]}")
        elif type_name == EmbeddingVectors.TYPE_NAME and WORDS in properties:
            figures.append(
                f"{counted(properties[WORDS], 'vector')} of {properties.get(DIMENSION, '?')} dimensions"
            )
        elif type_name == EmbeddingMatrix.TYPE_NAME and COVERAGE_WORDS in properties:
            figures.append(f"vectors for {properties[COVERAGE_WORDS]:.1%} of the vocabulary")
        elif type_name == standard_artifacts.ModelEvaluation.TYPE_NAME:
            evaluation = evaluation_artifact.read_evaluation(artifact.uri)
            shown = evaluation_artifact.format_metrics(evaluation.candidate_metrics, _SHOWN_METRICS)
            if shown:
                figures.append("test " + shown)
            if evaluation.baseline_model is not None and evaluation_artifact.ACCURACY in evaluation.diffs:
                figures.append(f"accuracy {evaluation.diffs[evaluation_artifact.ACCURACY]:+.4f} vs baseline")
        elif type_name == standard_artifacts.ModelBlessing.TYPE_NAME:
            blessed = evaluation_artifact.read_blessing(artifact)
            if blessed is not None:
                figures.append("blessed" if blessed else "NOT blessed")
        elif type_name == standard_artifacts.InfraBlessing.TYPE_NAME:
            described = canary_results.describe(artifact)
            if described:
                load = properties.get(canary_results.LOAD_SECONDS_PROPERTY)
                batch = properties.get(canary_results.BATCH_SECONDS_PROPERTY)
                if properties.get(canary_results.BLESSED_PROPERTY) and load is not None and batch is not None:
                    described += f" (load {load:.2f} s, batch {batch:.3f} s)"
                figures.append(described)
        elif type_name == standard_artifacts.PushedModel.TYPE_NAME:
            push = pushed_model.read_push(artifact)
            figures.append(
                f"pushed version {push.version} to {push.destination}" if push.pushed else "not pushed"
            )
        elif type_name == RunReport.TYPE_NAME:
            figures.append(f"{artifact.uri}/{run_report.REPORT_FILE}")
    return figures


def _drift_compared(anomalies: ArtifactRef) -> str:
    """What the DriftCheck compared: ``against spans 1 to 2 and train vs test``, its baseline as the report
    names it: its last span from the artifact's property, its first from ``drift.json`` (absent in one
    written before windows: one span; damaged: the report names the damage, the step line the last span);
    without a baseline, ``train vs test``, and why when statistics handed over were not compared."""
    try:
        drift = drift_anomalies.read_findings(anomalies.uri)
    except (KeyError, TypeError, ValueError):
        drift = None
    last = anomalies.properties.get(drift_anomalies.BASELINE_SPAN_PROPERTY)
    if last is not None:
        first = drift.baseline_first_span if drift is not None else None
        return f"against {spans_name(first, last)} and train vs test"
    why = drift.baseline_not_compared() if drift is not None else None
    return f"train vs test; {why}" if why else "train vs test"


@dataclasses.dataclass
class _Step:
    """What has been said of one execution of this run."""

    node: str
    number: int | None  # None for a node that is not a step (a resolver)
    created_ms: int
    seconds: float | None = None  # set when it ended
    failed: bool = False

    def label(self, steps: int) -> str:
        return f"Step {self.number}/{steps} {self.node}"


class StepLog:
    """A context manager around ``LocalDagRunner().run(...)`` that logs each step's start and end.

    The store (``metadata_path``, which may not exist yet) is read before any other log record
    of the project is shown, every ``interval`` seconds, and when the block ends; if it raises,
    the running step gets a line saying it failed (or was stopped), after how long and why, and is
    recorded so: FAILED with its ``error``, or CANCELED with ``stopped_by`` after a signal. Nodes not in
    ``steps`` (resolvers) get one unnumbered line when they finish.
    """

    def __init__(
        self, metadata_path: str, pipeline_name: str, steps: Sequence[str], interval: float = POLL_SECONDS
    ):
        self._metadata_path = metadata_path
        self._pipeline_name = pipeline_name
        self._step_ids = frozenset(steps)
        self._steps = len(steps)
        self._interval = interval
        self._numbered = 0
        self._seen: dict[int, _Step] = {}  # execution id -> what has been said of it
        self._before = 0  # executions up to this id are earlier runs'
        self._store: metadata_store.MetadataStore | None = None
        # Reading the store and saying what it shows is one step at a time, whichever thread
        # asks; re-entrant, as the lines said go through the logging handlers that ask.
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._handler = _ReadFirst(self)

    def __enter__(self) -> StepLog:
        self._before = self._newest_execution_id()
        logging.getLogger().handlers.insert(0, self._handler)
        self._thread = threading.Thread(target=self._watch, name="step-log", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        logging.getLogger().removeHandler(self._handler)
        self.poll()
        if error is None:
            return
        stopped = isinstance(error, KeyboardInterrupt) or interrupts.received() is not None
        unfinished = [
            (execution_id, s)
            for execution_id, s in self._seen.items()
            if s.number is not None and (s.failed or s.seconds is None)
        ]
        with interrupts.shielded():
            if unfinished:
                self._end_step(*unfinished[-1], error, stopped)
            elif stopped and self._seen:
                # Between two steps, or in a resolver (which records nothing until it resolved): no step
                # was stopped, the run was; its pipeline_run context says so.
                self._record(self._record_run_stopped)

    def _end_step(self, execution_id: int, step: _Step, error: BaseException, stopped: bool) -> None:
        seconds = step.seconds if step.seconds is not None else time.time() - step.created_ms / 1000
        name = step.label(self._steps)
        if stopped:
            # Ctrl-C or SIGTERM stopped it: nothing went wrong in the step, even if TFX published
            # it FAILED (pybind11 made the KeyboardInterrupt a RuntimeError inside TensorFlow).
            logger.warning("%s: %s after %.1f s", name, interrupts.stopped_word(), seconds)
            ended = (_Execution.CANCELED, run_records.STOPPED_BY_PROPERTY, interrupts.stopped_word())
        else:
            logger.error("%s: failed after %.1f s: %s", name, seconds, describe_failure(error))
            # TFX publishes only its executor's failure: a driver's or publisher's leaves it RUNNING.
            ended = (_Execution.FAILED, run_records.ERROR_PROPERTY, describe_failure(error))
        self._record(lambda store: _record_end(store, execution_id, *ended))

    def _record(self, write: Callable[[metadata_store.MetadataStore], None]) -> None:
        """``write`` (how the run ended) into the run's store, opened with the run's own connection
        config (the step log's is read-only)."""
        try:
            write(
                metadata_store.MetadataStore(metadata.sqlite_metadata_connection_config(self._metadata_path))
            )
        except Exception as error:  # a record must never hide how the run ended
            logger.debug("Step log: how the run ended not recorded in %s: %s", self._metadata_path, error)

    def _record_run_stopped(self, store: metadata_store.MetadataStore) -> None:
        run_type = store.get_context_type(run_records.RUN_CONTEXT_TYPE)
        [run] = [c for c in store.get_contexts_by_execution(min(self._seen)) if c.type_id == run_type.id]
        run.custom_properties[run_records.STOPPED_BY_PROPERTY].string_value = interrupts.stopped_word()
        store.put_contexts([run])

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            self.poll()

    def _open(self) -> metadata_store.MetadataStore | None:
        if self._store is None and os.path.isfile(self._metadata_path):
            try:
                self._store = run_records.open_store(self._metadata_path)
            except run_records.RunNotFoundError:  # being created by the run
                return None
        return self._store

    def _newest_execution_id(self) -> int:
        try:
            store = self._open()
            if store is None:
                return 0
            newest = store.get_executions(
                list_options=metadata_store.ListOptions(
                    limit=1, order_by=metadata_store.OrderByField.ID, is_asc=False
                )
            )
            return newest[0].id if newest else 0
        except Exception as error:  # a log line must never fail the run
            logger.debug(
                "Step log: executions of earlier runs not read from %s: %s", self._metadata_path, error
            )
            return 0

    def poll(self) -> None:
        """Logs what the store says happened since the last read: steps started, ended, failed."""
        with self._lock:
            self._poll()

    def _poll(self) -> None:
        try:
            store = self._open()
            if store is None:
                return
            executions = store.get_executions(
                list_options=metadata_store.ListOptions(filter_query=f"id > {self._before}")
            )
            for execution in sorted(executions, key=lambda e: e.id):
                self._advance(store, execution)
        except Exception as error:  # a log line must never fail the run
            logger.debug("Step log: ML Metadata not read: %s", error)

    def _advance(self, store: metadata_store.MetadataStore, execution: metadata_store_pb2.Execution) -> None:
        step = self._seen.get(execution.id)
        if step is None:
            pipeline, node = run_records.node_names(store, [execution.id]).get(execution.id, (None, None))
            if pipeline != self._pipeline_name:
                return
            number = None
            if node in self._step_ids:
                self._numbered += 1
                number = self._numbered
            step = self._seen[execution.id] = _Step(node, number, execution.create_time_since_epoch)
            if number is not None:
                logger.info("%s: start", step.label(self._steps))
        state = execution.last_known_state
        if step.seconds is not None or (state not in _ENDED and state not in _FAILED):
            return
        step.seconds = (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000
        if step.number is None:
            logger.info("%s: resolved", step.node)
        elif state in _FAILED:
            step.failed = True  # said when the run's error is known, in __exit__
        else:
            figures = describe_outputs(_outputs(store, execution.id))
            line = f"{step.label(self._steps)}: {_ENDED[state]} in {step.seconds:.1f} s"
            logger.info("%s", f"{line}: {'; '.join(figures)}" if figures else line)


class _ReadFirst(logging.Handler):
    """The root logger's first handler during a run: reads the store before a project record is shown,
    so step lines come in order. No handler lock of its own (the step log's lock orders the reads)."""

    def __init__(self, step_log: StepLog):
        super().__init__()
        self._step_log = step_log

    def handle(self, record: logging.LogRecord) -> bool:
        # The project's own records, those a run shows without --verbose; not TensorFlow's or
        # Beam's, which can be many.
        if record.name.split(".")[0] in _PROJECT_PACKAGES and record.name != logger.name:
            self._step_log.poll()
        return True


def _outputs(store: metadata_store.MetadataStore, execution_id: int) -> list[tuple[str, ArtifactRef]]:
    """(artifact type name, artifact) of each output of an execution."""
    events = store.get_events_by_execution_ids([execution_id])
    outputs = [event.artifact_id for event in events if event.type == metadata_store_pb2.Event.OUTPUT]
    artifacts = store.get_artifacts_by_id(outputs)
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    return [(type_names[a.type_id], artifact_ref(a)) for a in artifacts]


def _record_end(
    store: metadata_store.MetadataStore, execution_id: int, state: int, name: str, value: str
) -> None:
    """Records how a step ended (``state``), and why (its custom property ``name``: ``value``)."""
    [execution] = store.get_executions_by_id([execution_id])
    if execution.last_known_state in (_Execution.RUNNING, _Execution.FAILED):
        execution.last_known_state = state
        execution.custom_properties[name].string_value = value
        store.put_executions([execution])


def describe_failure(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
