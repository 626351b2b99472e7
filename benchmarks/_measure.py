"""What the benchmark scripts share: a measurement in a fresh process, and its peak memory.

Each measurement runs in its own Python process so that its peak resident set
size is its own, not that of the libraries an earlier measurement loaded. The
scripts import this module as ``_measure``: run as ``python benchmarks/<script>.py``,
Python puts the script's folder first on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import json
import os
from pathlib import Path
import resource
import subprocess
import sys
import time


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux's ``VmHWM`` belongs to the process's own address space. ``ru_maxrss``
    is used only where VmHWM does not exist: it survives ``exec``, so a child
    started by a big parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor


def run_child(
    script: str | Path,
    arguments: Sequence[str],
    what: str,
    result_file: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> dict:
    """Runs ``python script arguments`` in a fresh process and returns the JSON result it reports.

    Args:
        script: The benchmark script, which runs the measurement when given
            ``arguments``.
        arguments: Its command-line arguments.
        what: The measurement, for the failure message.
        result_file: Where the child writes its JSON result (for children whose
            stdout carries logs); None: the last line of its stdout.
        cwd: The child's working directory; None: this one.
        env: Variables set for the child on top of this process's environment.

    Returns:
        The child's result, with ``process_seconds`` (its wall time, start-up
        included) unless it reports that itself.

    Raises:
        SystemExit: If the child fails, with the end of its stderr: a benchmark
            with a failed measurement has nothing to report.
    """
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, str(script), *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"{what} failed with exit code {completed.returncode}:\n{completed.stderr[-4000:]}")
    if result_file is not None:
        result = json.loads(Path(result_file).read_text())
    else:
        result = json.loads(completed.stdout.strip().splitlines()[-1])
    result.setdefault("process_seconds", time.monotonic() - started)
    return result


def completed_execution(store, step: str):
    """A run's first completed execution of the step whose type name holds ``step``, and its events.

    Args:
        store: The run's ML Metadata store (``ml_metadata.MetadataStore``).
        step: Part of the step's execution type name, e.g. ``"Trainer"``.
    """
    from ml_metadata.proto import metadata_store_pb2

    names = {execution_type.id: execution_type.name for execution_type in store.get_execution_types()}
    for execution in store.get_executions():
        if (
            step in names[execution.type_id]
            and execution.last_known_state == metadata_store_pb2.Execution.COMPLETE
        ):
            return execution, store.get_events_by_execution_ids([execution.id])
    raise SystemExit(f"no completed {step} execution in this run's ML Metadata")


def event_artifacts(store, events):
    """Each event with its artifact, as a TFX ``Artifact`` (its type and properties read from the store)."""
    from tfx.types import artifact_utils

    artifact_types = {artifact_type.id: artifact_type for artifact_type in store.get_artifact_types()}
    stored = {
        artifact.id: artifact for artifact in store.get_artifacts_by_id([e.artifact_id for e in events])
    }
    for event in events:
        artifact = stored[event.artifact_id]
        yield event, artifact_utils.deserialize_artifact(artifact_types[artifact.type_id], artifact)


def rerun_artifacts(store, events, work: str | Path) -> tuple[dict, dict]:
    """An execution's input artifacts as they were, and its outputs moved to new folders under ``work``.

    Both are dicts of artifact lists by key, as an executor's ``Do`` takes them.
    """
    from ml_metadata.proto import metadata_store_pb2

    inputs: dict = {}
    outputs: dict = {}
    for event, artifact in event_artifacts(store, events):
        key = event.path.steps[0].key
        if event.type == metadata_store_pb2.Event.INPUT:
            inputs.setdefault(key, []).append(artifact)
        else:
            artifact.uri = str(Path(work) / key)
            Path(artifact.uri).mkdir(parents=True)
            outputs.setdefault(key, []).append(artifact)
    return inputs, outputs


def run_store(run_output: str | Path):
    """The ML Metadata store of a finished run (``OUTPUT/metadata.sqlite``)."""
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(Path(run_output) / "metadata.sqlite")
    return metadata_store.MetadataStore(config)
