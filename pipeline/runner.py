"""Local runs: TFX's LocalDagRunner over the pipeline, and a summary from ML Metadata."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import gc
import logging
import tempfile
import time

from tfx.orchestration import metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from components.example_gen.spans import has_span_placeholder, span_name
from components.plural import counted
from pipeline import interrupts, preflight
from pipeline.config import PipelineConfig
from pipeline.lock import run_lock, run_lock_holder
from pipeline.pipeline import create_pipeline, pipeline_steps
from pipeline.step_log import StepLog
from pipeline.stored_uris import make_store_uris_absolute
from pipeline.summary import RunSummary, summarize_latest_run

logger = logging.getLogger(__name__)


class Stopped(interrupts.Interrupt):
    """A signal (or Ctrl-C) stopped the run; ``summary``: what it did until then, None if nothing yet."""

    def __init__(self, summary: RunSummary | None):
        super().__init__()
        self.summary = summary


def run_pipeline(config: PipelineConfig, enable_cache: bool = True, checked: bool = False) -> RunSummary:
    """Runs the pipeline (after the pre-flight, unless the caller ran it: ``checked``) and summarises it;
    raises if a step fails.

    Raises:
        OptionsError: the pre-flight found a problem; nothing ran.
        RunInProgressError: another run holds the output directory's lock.
        Stopped: a signal stopped the run (a model may have been pushed already).
    """
    if not checked:
        preflight.check(config)
    with run_lock(config.state_dir):
        make_store_uris_absolute(config.metadata_path, config.output)
        logger.info("Pipeline %s: data %s, output %s", config.pipeline_name, config.data, config.output)
        started = time.monotonic()
        earlier = _newest_run_summary(config)
        store = metadata.sqlite_metadata_connection_config(config.metadata_path)
        pipeline = create_pipeline(config, enable_cache=enable_cache, metadata_connection_config=store)
        try:
            with (
                gc_frozen(),
                run_temporary_folder(),
                StepLog(config.metadata_path, config.pipeline_name, steps=pipeline_steps(pipeline)),
                interrupts.children_killed_after_signal(),  # Beam's worker processes, in multi_processing
            ):
                LocalDagRunner().run(pipeline)
                # A signal that a library swallowed on the way (a finalizer, pybind11) still stops the run.
                interrupts.raise_if_received()
        except BaseException as error:
            if interrupts.received() is None and not isinstance(error, KeyboardInterrupt):
                raise
            with interrupts.shielded():
                stopped = _newest_run_summary(config, time.monotonic() - started)
            if stopped is not None and earlier is not None and stopped.run_id == earlier.run_id:
                stopped = None  # the run recorded nothing: the newest is an earlier one
            raise Stopped(stopped) from error
        return summarize_latest_run(
            config.metadata_path, config.pipeline_name, seconds=time.monotonic() - started
        )


def _newest_run_summary(config: PipelineConfig, seconds: float | None = None) -> RunSummary | None:
    """The summary of the pipeline's newest run; None if it has none, or if it cannot be read."""
    try:
        return summarize_latest_run(config.metadata_path, config.pipeline_name, seconds)
    except Exception:  # only says what a stopped run did: never stops a run itself
        return None


@contextlib.contextmanager
def gc_frozen() -> Iterator[None]:
    """Leaves the objects that exist when the block starts out of the garbage collector's passes until it ends.

    By the time the steps run, the process holds some 650,000 objects that live as long as it does
    (the modules of TensorFlow, TFX, Beam and TFMA and what they built on import). Every full
    collection walked them all, about 0.35 CPU s each; on the bundled sample a run makes a dozen
    such collections (automatic ones and the steps' own), 3.4 CPU s of a 35 s run. Frozen
    (``gc.freeze``), they are skipped: the full collections of that run took 1.8 CPU s. Reference
    counting still frees them; objects that become cyclic garbage meanwhile are collected after
    the block (``gc.unfreeze``), so a process that runs the pipeline more than once (the tests) keeps
    nothing for longer than one run. A caller that froze objects itself keeps its freeze as it is:
    the block then freezes nothing (``gc.unfreeze`` would release the caller's objects too).
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def run_temporary_folder() -> Iterator[None]:
    """Makes Python's temporary folder, while the block runs, a folder of its own that it then removes.

    For every Beam step it submits as a portable job (Flink, Spark, any ``--runner=PortableRunner``),
    Beam's stager builds this project's source package (``--setup_file``, about 3 MB) in a fresh
    ``tempfile.mkdtemp()`` that nothing removes (``apache_beam.transforms.environments.
    python_sdk_dependencies``): each such run left some 40 MB in the system's temporary folder.
    """
    previous = tempfile.tempdir
    with tempfile.TemporaryDirectory(prefix="imdb-pipeline-run-") as folder:
        tempfile.tempdir = folder
        try:
            yield
        finally:
            tempfile.tempdir = previous


def _spans_shown(config: PipelineConfig) -> str:
    """`` (span 2, the newest)``: the span a run would ingest, or ``(3 spans ending at ...)``; nothing without spans."""
    if not has_span_placeholder(config.data):
        return ""
    newest = preflight.newest_span(config.data) if config.span is None else None
    if config.span is not None:
        last = f"span {span_name(config.span, config.data)}"
    elif newest is not None:
        last = f"span {span_name(newest, config.data)}, the newest"
    else:
        last = "the newest span"
    return f" ({config.num_spans} spans ending at {last})" if config.num_spans > 1 else f" ({last})"


def describe_plan(config: PipelineConfig, enable_cache: bool = True) -> str:
    """What a run would do, without running anything: steps, data, outputs."""
    pipeline = create_pipeline(config, enable_cache=enable_cache)
    steps = pipeline_steps(pipeline)
    lines = [
        f"pipeline {config.pipeline_name}: {len(steps)} steps, cache {'on' if enable_cache else 'off'}",
        f"  data:     {config.data}{_spans_shown(config)}",
        f"  vectors:  {config.vectors or 'word2vec trained on train + unsup text'}",
        f"  root:     {config.pipeline_root}",
        f"  metadata: {config.metadata_path}",
        f"  serving:  {config.serving_model_dir}/<version>/ (keeping {counted(config.push.keep_versions, 'version')})",
        f"  beam:     {' '.join(pipeline.beam_pipeline_args)}",
        "steps:",
    ]
    for component in pipeline.components:
        inputs = sorted(
            f"{key}<-{channel.producer_component_id}"
            for key, channel in component.inputs.items()
            if getattr(channel, "producer_component_id", None)
        )
        where = f"{steps.index(component.id) + 1:>2}. " if component.id in steps else "    "
        role = "" if component.id in steps else " (resolver: picks an input, not a step)"
        lines.append(f"  {where}{component.id}{role}" + (f"  ({', '.join(inputs)})" if inputs else ""))
    try:
        holder = run_lock_holder(config.state_dir)
    except OSError as error:
        lines.append(
            f"whether another run is in progress on {config.state_dir} is not known: its run lock "
            f"{error.filename} cannot be read ({error.strerror})"
        )
    else:
        if holder is not None:
            lines.append(
                f"another run is in progress on {config.state_dir} ({holder}): a run would refuse to start "
                "(exit code 3) until it ends"
            )
    return "\n".join(lines)
