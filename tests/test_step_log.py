"""The step log reads a run's progress from its ML Metadata store while TFX's LocalDagRunner runs it.

A real three-node TFX pipeline (two function components with a resolver
between them, as the baseline model resolver sits before the Evaluator) runs
with the LocalDagRunner into a fresh SQLite store: executing, then from the
cache, and with its last step failing. A step's own line must come after its
start line; the last step waits until the step log has announced it, so its
start line provably comes while it runs (said by the watching thread when the
step logs nothing).
"""

import logging
import re
import threading

import pytest
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.orchestration import metadata
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.types.standard_artifacts import Examples, PushedModel

from components.artifacts import pushed_model, quarantine
from pipeline.pipeline import pipeline_steps
from pipeline.step_log import StepLog

# Set when the step log says "Step 2/2 Push: start"; the Push step waits for it.
_PUSH_ANNOUNCED = threading.Event()
_WAIT_SECONDS = 60
_STEP_LOGGER = "components.read"  # a step's own logger, as the project's steps have


@component
def Read(examples: OutputArtifact[Examples]):
    logging.getLogger(_STEP_LOGGER).info("Read: reading")
    examples.set_int_custom_property(quarantine.SET_ASIDE_PROPERTY, 3)


@component
def Push(
    examples: InputArtifact[Examples],
    pushed: OutputArtifact[PushedModel],
    fail: Parameter[int] = 0,
    speak: Parameter[int] = 1,
):
    if speak:
        logging.getLogger(_STEP_LOGGER).info("Push: pushing")
    if not _PUSH_ANNOUNCED.wait(_WAIT_SECONDS):
        raise TimeoutError("the step log did not announce the running step")
    if fail:
        raise ValueError("no model to push")
    pushed.set_int_custom_property(pushed_model.PUSHED_PROPERTY, 1)
    pushed.set_string_custom_property(pushed_model.PUSHED_VERSION_PROPERTY, "7")
    pushed.set_string_custom_property(pushed_model.PUSHED_DESTINATION_PROPERTY, "/s/7")


class _Announcements(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "Step 2/2 Push: start":
            _PUSH_ANNOUNCED.set()


def _run(tmp_path, caplog, fail: int, speak: int, interval: float) -> list[str]:
    """Runs the pipeline; returns the step log's lines and the step's own, each duration written ``N``."""
    read = Read()
    latest = resolver.Resolver(
        strategy_class=LatestArtifactStrategy, examples=read.outputs["examples"]
    ).with_id("latest_examples_resolver")
    push = Push(examples=latest.outputs["examples"], fail=fail, speak=speak)
    pipeline = tfx_pipeline.Pipeline(
        pipeline_name="progress",
        pipeline_root=str(tmp_path / "root"),
        components=[read, latest, push],
        enable_cache=True,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite")),
    )
    caplog.clear()
    _PUSH_ANNOUNCED.clear()
    with StepLog(str(tmp_path / "m.sqlite"), "progress", pipeline_steps(pipeline), interval=interval):
        LocalDagRunner().run(pipeline)
    return _lines(caplog)


def _lines(caplog) -> list[str]:
    return [
        re.sub(r"\d+\.\d s", "N s", record.getMessage())
        for record in caplog.records
        if record.name in ("pipeline.step_log", _STEP_LOGGER)
    ]


@pytest.fixture
def announcements():
    handler = _Announcements()
    logging.getLogger("pipeline.step_log").addHandler(handler)
    yield
    logging.getLogger("pipeline.step_log").removeHandler(handler)


def test_steps_are_numbered_timed_and_described_from_ml_metadata_as_the_run_goes(
    tmp_path, caplog, announcements
):
    caplog.set_level(logging.INFO)
    # The watching thread reads too seldom to matter here: each start line comes before the
    # step's own first line because the store is read before that line is shown.
    assert _run(tmp_path, caplog, fail=0, speak=1, interval=600) == [
        "Step 1/2 Read: start",
        "Read: reading",
        "Step 1/2 Read: executed in N s: 3 records set aside",
        # A resolver is not a step: not numbered, one line when it is done.
        "latest_examples_resolver: resolved",
        "Step 2/2 Push: start",
        "Push: pushing",
        "Step 2/2 Push: executed in N s: pushed version 7 to /s/7",
    ]
    # Again: every step a cache hit, with the figures of the outputs it reuses.
    assert _run(tmp_path, caplog, fail=0, speak=1, interval=600) == [
        "Step 1/2 Read: start",
        "Step 1/2 Read: cached in N s: 3 records set aside",
        "latest_examples_resolver: resolved",
        "Step 2/2 Push: start",
        "Step 2/2 Push: cached in N s: pushed version 7 to /s/7",
    ]


def test_a_silent_failing_step_is_announced_while_it_runs_and_its_error_named(
    tmp_path, caplog, announcements
):
    caplog.set_level(logging.INFO)
    # Push logs nothing: only the watching thread can announce it, which it must wait for.
    with pytest.raises(ValueError, match="no model to push"):
        _run(tmp_path, caplog, fail=1, speak=0, interval=0.1)
    assert _lines(caplog) == [
        "Step 1/2 Read: start",
        "Read: reading",
        "Step 1/2 Read: executed in N s: 3 records set aside",
        "latest_examples_resolver: resolved",
        "Step 2/2 Push: start",
        "Step 2/2 Push: failed after N s: ValueError: no model to push",
    ]
