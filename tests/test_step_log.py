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
import signal
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
from components.example_gen.component import create_example_gen
from components.example_gen.spans import SpanNotFoundError
from pipeline import interrupts, run_records
from pipeline.pipeline import pipeline_steps
from pipeline.step_log import StepLog

# Set when the step log says "Step 2/2 Push: start"; the Push step waits for it.
_PUSH_ANNOUNCED = threading.Event()
_WAIT_SECONDS = 60
_STEP_LOGGER = "components.read"  # a step's own logger, as the project's steps have


def _get_signal(signum: int, how: str) -> None:
    """``signum`` as the handler of interrupts.install raises it, reaching TFX as it is (``as_is``: TFX
    leaves the step RUNNING) or ``rewrapped`` by pybind11 inside TensorFlow (TFX publishes it FAILED)."""
    try:
        interrupts._handle(signum, None)
    except KeyboardInterrupt:
        if how == "as_is":
            raise
        raise RuntimeError("MISMATCH of original and normalized active exception types") from None


@component
def Read(examples: OutputArtifact[Examples], signum: Parameter[int] = 0, how: Parameter[str] = ""):
    logging.getLogger(_STEP_LOGGER).info("Read: reading")
    if signum:
        _get_signal(signum, how)
    examples.set_int_custom_property(quarantine.SET_ASIDE_PROPERTY, 3)


@component
def Push(
    examples: InputArtifact[Examples],
    pushed: OutputArtifact[PushedModel],
    fail: Parameter[int] = 0,
    speak: Parameter[int] = 1,
    signum: Parameter[int] = 0,
    how: Parameter[str] = "",
):
    if speak:
        logging.getLogger(_STEP_LOGGER).info("Push: pushing")
    if not _PUSH_ANNOUNCED.wait(_WAIT_SECONDS):
        raise TimeoutError("the step log did not announce the running step")
    if signum:
        _get_signal(signum, how)
    if fail:
        raise ValueError("no model to push")
    pushed.set_int_custom_property(pushed_model.PUSHED_PROPERTY, 1)
    pushed.set_string_custom_property(pushed_model.PUSHED_VERSION_PROPERTY, "7")
    pushed.set_string_custom_property(pushed_model.PUSHED_DESTINATION_PROPERTY, "/s/7")


class SignalledStrategy(LatestArtifactStrategy):
    """The resolver's strategy, getting ``signum`` while it resolves (before TFX records anything of it)."""

    def __init__(self, signum: int):
        super().__init__()
        self._signum = signum

    def resolve_artifacts(self, store, input_dict):
        _get_signal(self._signum, "as_is")


class _Announcements(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "Step 2/2 Push: start":
            _PUSH_ANNOUNCED.set()


def _run(tmp_path, caplog, fail: int, speak: int, interval: float, stop: dict | None = None) -> list[str]:
    """Runs the pipeline; returns the step log's lines and the step's own, each duration written ``N``.

    ``stop``: the node (``Read``, ``Push``: with its ``signum`` and ``how``; the resolver) that gets a signal.
    """
    stop = stop or {}
    read = Read(**stop.get("Read", {}))
    strategy = {"strategy_class": LatestArtifactStrategy}
    if "latest_examples_resolver" in stop:
        strategy = {"strategy_class": SignalledStrategy, "config": stop["latest_examples_resolver"]}
    latest = resolver.Resolver(**strategy, examples=read.outputs["examples"]).with_id(
        "latest_examples_resolver"
    )
    push = Push(examples=latest.outputs["examples"], fail=fail, speak=speak, **stop.get("Push", {}))
    return _run_steps(tmp_path, caplog, [read, latest, push], interval)


def _run_steps(tmp_path, caplog, components: list, interval: float = 600) -> list[str]:
    pipeline = tfx_pipeline.Pipeline(
        pipeline_name="progress",
        pipeline_root=str(tmp_path / "root"),
        components=components,
        enable_cache=True,
        metadata_connection_config=metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite")),
    )
    caplog.clear()
    _PUSH_ANNOUNCED.clear()
    with StepLog(str(tmp_path / "m.sqlite"), "progress", pipeline_steps(pipeline), interval=interval):
        LocalDagRunner().run(pipeline)
    return _lines(caplog)


def _recorded(tmp_path) -> list[tuple[str, tuple, dict]]:
    """(outcome, (step, state)s, step properties) of each run in the store, newest first."""
    store = run_records.open_store(str(tmp_path / "m.sqlite"))
    return [(run.outcome, run.states, run.step_properties) for run in run_records.list_runs(store)]


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
    [(outcome, states, properties)] = _recorded(tmp_path)
    assert (outcome, states[-1]) == ("failed", ("Push", "FAILED"))
    assert properties["Push"][run_records.ERROR_PROPERTY] == "ValueError: no model to push"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("how", ["as_is", "rewrapped"])
@pytest.mark.parametrize("step", ["Read", "Push"])
def test_a_step_a_signal_stops_is_recorded_stopped_whichever_step_and_whatever_tfx_made_of_it(
    tmp_path, caplog, announcements, monkeypatch, step, how, signum
):
    """A signal in a step that TensorFlow turned into a RuntimeError was recorded FAILED (Transform)."""
    monkeypatch.setattr(interrupts, "_received", None)  # this test's signal is its own
    caplog.set_level(logging.INFO)
    word = interrupts.WORDS[signum]
    with pytest.raises((KeyboardInterrupt, RuntimeError)):
        _run(tmp_path, caplog, fail=0, speak=0, interval=0.1, stop={step: {"signum": signum, "how": how}})
    number = {"Read": 1, "Push": 2}[step]
    assert _lines(caplog)[-1] == f"Step {number}/2 {step}: {word} after N s"
    [(outcome, states, properties)] = _recorded(tmp_path)
    assert (outcome, states[-1]) == (word, (step, "CANCELED"))
    assert properties[step][run_records.STOPPED_BY_PROPERTY] == word
    assert [state for _, state in states[:-1]] == ["COMPLETE"] * (number - 1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_between_two_steps_is_recorded_on_the_run(tmp_path, caplog, monkeypatch, signum):
    """Stopped in the resolver, which TFX records once it resolved, the run read "complete"."""
    monkeypatch.setattr(interrupts, "_received", None)
    caplog.set_level(logging.INFO)
    with pytest.raises(KeyboardInterrupt):
        _run(
            tmp_path,
            caplog,
            fail=0,
            speak=0,
            interval=600,
            stop={"latest_examples_resolver": {"signum": signum}},
        )
    assert _lines(caplog)[-1] == "Step 1/2 Read: executed in N s: 3 records set aside"
    store = run_records.open_store(str(tmp_path / "m.sqlite"))
    [run] = run_records.list_runs(store)
    word = interrupts.WORDS[signum]
    assert (run.outcome, run.states, run.stopped_by) == (word, (("Read", "COMPLETE"),), word)


def test_a_step_whose_driver_raises_is_recorded_failed_with_its_error(tmp_path, caplog):
    """TFX publishes only an executor's failure: ExampleGen's driver failing on a span left it RUNNING."""
    caplog.set_level(logging.INFO)
    (tmp_path / "spans").mkdir()  # the spans are gone (after the pre-flight found them)
    example_gen = create_example_gen(str(tmp_path / "spans" / "span-{SPAN}"), num_spans=2)
    with pytest.raises(SpanNotFoundError) as raised:
        _run_steps(tmp_path, caplog, [example_gen])
    error = f"SpanNotFoundError: {raised.value}"
    assert error.startswith("SpanNotFoundError: data: no span found: nothing under "), error
    assert _lines(caplog)[-1] == f"Step 1/1 FileBasedExampleGen: failed after N s: {error}"
    [(outcome, states, properties)] = _recorded(tmp_path)
    assert (outcome, states) == ("failed", (("FileBasedExampleGen", "FAILED"),))
    assert properties["FileBasedExampleGen"][run_records.ERROR_PROPERTY] == error
