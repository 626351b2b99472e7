"""One start and one end line per step of a local run, with its duration and outcome.

TFX's LocalDagRunner runs the nodes one after the other and marks each with an
absl log record, ``Component <id> is running.`` / ``... is finished.``; it has
no other hook. :class:`StepLog` is a logging filter on the ``absl`` logger
that turns those two records into the project's own lines: the step's number
out of all, how long it took, whether it ran or was a cache hit, and the
figures its outputs carry in ML Metadata (test metrics, blessing, pushed
version, embedding coverage, the report's path). That covers TFX's standard
components (Evaluator, resolvers) as well as ours, without changing them.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging
import time

from absl import logging as absl_logging
from ml_metadata.proto import metadata_store_pb2
from tfx.types import standard_artifacts

from components.artifacts import drift_anomalies, pushed_model, quarantine, run_report
from components.artifacts import evaluation as evaluation_artifact
from components.artifacts import infra_blessing as canary_results
from components.artifacts.embedding_matrix import COVERAGE_WORDS_PROPERTY as COVERAGE_WORDS
from components.artifacts.embedding_vectors import DIMENSION_PROPERTY as DIMENSION
from components.artifacts.embedding_vectors import WORDS_PROPERTY as WORDS
from components.artifacts.ref import ArtifactRef, artifact_ref
from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors, RunReport
from pipeline import reports

logger = logging.getLogger(__name__)

_RUNNING = "Component %s is running."
_FINISHED = "Component %s is finished."
_STATES = {
    metadata_store_pb2.Execution.COMPLETE: "executed",
    metadata_store_pb2.Execution.CACHED: "cached",
}
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
    """Main figures of a step's outputs, from their types and custom properties.

    Args:
        outputs: (artifact type name, artifact) of each output.
    """
    figures = []
    rank = {name: i for i, name in enumerate(_FIGURE_ORDER)}
    for type_name, artifact in sorted(outputs, key=lambda output: rank.get(output[0], len(rank))):
        properties = artifact.properties
        if type_name == standard_artifacts.Examples.TYPE_NAME and quarantine.SET_ASIDE_PROPERTY in properties:
            figures.append(f"{properties[quarantine.SET_ASIDE_PROPERTY]:,} records set aside")
        elif (
            type_name == standard_artifacts.ExampleAnomalies.TYPE_NAME
            and drift_anomalies.OVER_THRESHOLD_PROPERTY in properties
        ):
            baseline = properties.get(drift_anomalies.BASELINE_SPAN_PROPERTY)
            figures.append(
                f"{properties[drift_anomalies.OVER_THRESHOLD_PROPERTY]} comparison(s) over their threshold "
                + (
                    f"(against span {baseline} and train vs test)"
                    if baseline is not None
                    else "(train vs test)"
                )
            )
            if properties.get(drift_anomalies.WARNINGS_PROPERTY):
                figures.append(f"warning: {properties[drift_anomalies.WARNINGS_PROPERTY]}")
        elif type_name == EmbeddingVectors.TYPE_NAME and WORDS in properties:
            figures.append(f"{properties[WORDS]:,} vectors of {properties.get(DIMENSION, '?')} dimensions")
        elif type_name == EmbeddingMatrix.TYPE_NAME and COVERAGE_WORDS in properties:
            figures.append(f"vectors for {properties[COVERAGE_WORDS]:.1%} of the vocabulary")
        elif type_name == standard_artifacts.ModelEvaluation.TYPE_NAME:
            evaluation = evaluation_artifact.read_evaluation(artifact.uri)
            shown = [
                f"{name} {evaluation.candidate_metrics[name]:.4f}"
                for name in _SHOWN_METRICS
                if name in evaluation.candidate_metrics
            ]
            if shown:
                figures.append("test " + ", ".join(shown))
            if evaluation.baseline_model is not None and evaluation_artifact.ACCURACY in evaluation.diffs:
                figures.append(f"accuracy {evaluation.diffs[evaluation_artifact.ACCURACY]:+.4f} vs baseline")
        elif type_name == standard_artifacts.ModelBlessing.TYPE_NAME:
            blessed = evaluation_artifact.read_blessing(artifact)
            if blessed is not None:
                figures.append("blessed" if blessed else "NOT blessed")
        elif type_name == standard_artifacts.InfraBlessing.TYPE_NAME:
            blessed = properties.get(canary_results.BLESSED_PROPERTY)
            described = canary_results.describe(
                None if blessed is None else bool(blessed), properties.get(canary_results.FAILURES_PROPERTY)
            )
            if described:
                load = properties.get(canary_results.LOAD_SECONDS_PROPERTY)
                batch = properties.get(canary_results.BATCH_SECONDS_PROPERTY)
                if blessed and load is not None and batch is not None:
                    described += f" (load {load:.2f} s, batch {batch:.3f} s)"
                figures.append(described)
        elif type_name == standard_artifacts.PushedModel.TYPE_NAME:
            if properties.get(pushed_model.PUSHED_PROPERTY):
                figures.append(
                    f"pushed version {properties.get(pushed_model.PUSHED_VERSION_PROPERTY)} to "
                    f"{properties.get(pushed_model.PUSHED_DESTINATION_PROPERTY)}"
                )
            else:
                figures.append("not pushed")
        elif type_name == RunReport.TYPE_NAME:
            figures.append(f"{artifact.uri}/{run_report.REPORT_FILE}")
    return figures


class StepLog(logging.Filter):
    """Replaces TFX's per-component log records with a start and an end line per step.

    Use as a context manager around ``LocalDagRunner().run(...)``. If a step
    raises, the end line says it failed and after how long.

    Args:
        metadata_path: The run's SQLite ML Metadata store, read after each step.
        pipeline_name: The pipeline's name (node contexts are ``<pipeline>.<node>``).
        steps: The ids of the pipeline's steps (``pipeline.pipeline_steps``); other
            nodes (resolvers) get one unnumbered line when they finish.
    """

    def __init__(self, metadata_path: str, pipeline_name: str, steps: Sequence[str]):
        super().__init__()
        self._metadata_path = metadata_path
        self._pipeline_name = pipeline_name
        self._step_ids = frozenset(steps)
        self._steps = len(steps)
        self._number = 0
        self._current: str | None = None
        self._started = 0.0
        self._verbosity = None

    def __enter__(self) -> StepLog:
        # TensorFlow's SavedModel export sets absl's verbosity to FATAL and back
        # to absl's flag value (WARNING unless set), which would silence TFX's
        # INFO records for the rest of the run: pin the flag to INFO.
        self._verbosity = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.INFO)
        logging.getLogger("absl").addFilter(self)
        return self

    def __exit__(self, error_type, error, traceback) -> None:
        logging.getLogger("absl").removeFilter(self)
        absl_logging.set_verbosity(self._verbosity)
        if error is not None and self._current is not None:
            logger.error(
                "Step %d/%d %s: failed after %.1f s: %s: %s",
                self._number,
                self._steps,
                self._current,
                time.monotonic() - self._started,
                type(error).__name__,
                error,
            )

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in (_RUNNING, _FINISHED) and record.args and str(record.args[0]) not in self._step_ids:
            if record.msg == _FINISHED:
                logger.info("%s: resolved", record.args[0])
            return False
        if record.msg == _RUNNING and record.args:
            self._number += 1
            self._current = str(record.args[0])
            self._started = time.monotonic()
            logger.info("Step %d/%d %s: start", self._number, self._steps, self._current)
            return False
        if record.msg == _FINISHED and record.args:
            node = str(record.args[0])
            seconds = time.monotonic() - self._started
            state, figures = self._outcome(node)
            line = f"Step {self._number}/{self._steps} {node}: {state} in {seconds:.1f} s"
            logger.info("%s", f"{line}: {'; '.join(figures)}" if figures else line)
            self._current = None
            return False
        return True

    def _outcome(self, node: str) -> tuple[str, list[str]]:
        """How the node's latest execution ended, and the figures of its outputs."""
        try:
            store = reports.open_store(self._metadata_path)
            context = store.get_context_by_type_and_name("node", f"{self._pipeline_name}.{node}")
            if context is None:
                return "done", []
            execution = max(store.get_executions_by_context(context.id), key=lambda e: e.id)
            events = [
                event
                for event in store.get_events_by_execution_ids([execution.id])
                if event.type == metadata_store_pb2.Event.OUTPUT
            ]
            artifacts = store.get_artifacts_by_id([event.artifact_id for event in events])
            type_names = {t.id: t.name for t in store.get_artifact_types()}
            outputs = [(type_names[a.type_id], artifact_ref(a)) for a in artifacts]
            state = _STATES.get(execution.last_known_state, "done")
            return state, describe_outputs(outputs)
        except Exception as error:  # a log line must never fail the run
            logger.debug("Step %s: outcome not read from ML Metadata: %s", node, error)
            return "done", []
