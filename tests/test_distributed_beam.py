"""Beam flags reach the steps: multi-process and portable execution give exactly what in-memory gives."""

import glob
import os
import subprocess
import sys

import pytest
import tensorflow_transform as tft

from components.transform.options import TransformOptions
from pipeline.summary import summarize_latest_run
from schemas import features
from tests.conftest import BEAM_RUNNER
from tests.test_transform import read_transformed, run_transform_executor

SPLITS = {
    features.TRAIN: [
        ("A fine, moving film.", 1),
        ("A dull film; dull acting!", 0),
        ("Fine acting, fine story", 1),
        ("Boring. So boring.", 0),
        ("Moving and fine", 1),
        ("dull dull boring", 0),
    ],
    features.EVAL: [("fine film", 1), ("boring acting", 0)],
    features.TEST: [("so dull", 0), ("a moving story", 1), ("unseen words only", 1)],
    features.UNSUP: [],
}


@pytest.mark.slow
def test_transform_on_two_worker_processes_matches_in_memory(tmp_path):
    options = TransformOptions(vocab_size=12, min_frequency=1, max_length=6)
    in_memory = run_transform_executor(
        str(tmp_path / "in_memory"),
        SPLITS,
        options,
        (f"--runner={BEAM_RUNNER}", "--direct_running_mode=in_memory"),
    )
    two_processes = run_transform_executor(
        str(tmp_path / "multi"),
        SPLITS,
        options,
        (f"--runner={BEAM_RUNNER}", "--direct_running_mode=multi_processing", "--direct_num_workers=2"),
    )
    vocabulary = in_memory[0].vocabulary_by_name(features.VOCABULARY_NAME)
    assert vocabulary[:4] == [b"<pad>", b"<unk>", b"fine", b"dull"]
    assert two_processes[0].vocabulary_by_name(features.VOCABULARY_NAME) == vocabulary
    for split in (features.TRAIN, features.EVAL):  # the splits the Trainer reads: the only ones written
        assert read_transformed(*two_processes, split) == read_transformed(*in_memory, split)
        assert len(read_transformed(*in_memory, split)) == len(SPLITS[split])


def _vocabulary(output) -> list[bytes]:
    (uri,) = glob.glob(str(output / "pipeline_root" / "Transform" / "transform_graph" / "*"))
    return tft.TFTransformOutput(uri).vocabulary_by_name(features.VOCABULARY_NAME)


@pytest.mark.slow
def test_the_sample_run_through_beams_portable_job_api_matches_the_default_runner(pushed_run, tmp_path):
    """The job service protocol the Flink and Spark runners use, run in process (no cluster).

    Every Beam step goes through a portable job: pipeline proto, artifact staging
    and SDK workers in loopback, so anything that only works in one process (a
    closure over local state, an unpicklable DoFn, a side input the portable
    path cannot carry) fails here. Run as ``python -m pipeline``, which must
    exit 0 after Beam ran, like the console script.
    """
    default_output, default_run, _ = pushed_run
    assert default_run.returncode == 0, default_run.stderr[-3000:]
    output = tmp_path / "out"
    portable_flags = ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"]
    command = [sys.executable, "-m", "pipeline", "run", "--output", str(output), *portable_flags]
    plan = subprocess.run([*command, "--dry-run"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert plan.returncode == 0, plan.stderr[-3000:]
    (beam_line,) = [line for line in plan.stdout.splitlines() if line.startswith("  beam:")]
    assert beam_line.split()[1:4] == portable_flags  # the flags every Beam step gets, in place of the default
    temporary = tmp_path / "tmp"  # the system's temporary folder, for this run
    temporary.mkdir()
    environment = {**os.environ, "TMPDIR": str(temporary)}
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=1800, env=environment
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # Beam's stager leaves a source package per step in a temporary folder: the run removes them all.
    assert sorted(path.name for path in temporary.iterdir()) == []
    vocabulary = _vocabulary(output)
    assert vocabulary[:2] == [b"<pad>", b"<unk>"]
    assert vocabulary == _vocabulary(default_output)
    portable = summarize_latest_run(str(output / "metadata.sqlite"), "imdb-sentiment")
    default = summarize_latest_run(str(default_output / "metadata.sqlite"), "imdb-sentiment")
    assert portable.metrics["example_count"] == default.metrics["example_count"] > 0
    assert portable.metrics == pytest.approx(default.metrics, rel=1e-6)
    assert portable.blessed is True
