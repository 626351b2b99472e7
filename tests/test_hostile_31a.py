"""Hostile-user findings (branch hostile-31a): score/run output paths, symbolic links, odd flag values."""

import os
from pathlib import Path
import subprocess
import sys
import textwrap

import pytest

from tests.metadata_records import sqlite_store_with_runs

REPO = Path(__file__).resolve().parents[1]

FAKE_MODEL = textwrap.dedent(
    """
    import sys
    import tensorflow as tf

    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
        def serve(self, text):
            return {"probability": tf.fill(tf.shape(text), 0.75)}

    m = M()
    tf.saved_model.save(m, sys.argv[1], signatures={"serving_default": m.serve})
    """
)


def cli(*args, cwd, stdout=subprocess.PIPE, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny SavedModel with this pipeline's signature: every review scores 0.75."""
    root = tmp_path_factory.mktemp("model")
    script = root / "make_model.py"
    script.write_text(FAKE_MODEL)
    version = root / "imdb_sentiment" / "1"
    subprocess.run([sys.executable, str(script), str(version)], check=True, capture_output=True, timeout=120)
    return str(root / "imdb_sentiment")


@pytest.fixture
def reviews(tmp_path):
    (tmp_path / "r.txt").write_text("a great film\nawful\n")
    return "r.txt"


def test_score_output_dotdot_after_symlink_does_not_fail_the_job(tmp_path, model, reviews):
    (tmp_path / "d" / "deep").mkdir(parents=True)
    (tmp_path / "deepl").symlink_to("d/deep")
    result = cli("score", "--model", model, "--input", reviews, "--output", "deepl/../scored", cwd=tmp_path)
    # Either scored where the OS puts deepl/../scored (d/scored), or refused as a usage error before the job.
    assert "FAILED" not in result.stderr, result.stderr
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 0:
        assert (tmp_path / "d" / "scored" / "summary.json").is_file()


@pytest.mark.parametrize("runner", ["Bogus", ""])
def test_score_unknown_runner_is_usage_error(tmp_path, model, reviews, runner):
    result = cli(
        "score",
        "--model",
        model,
        "--input",
        reviews,
        "--output",
        "scored",
        f"--runner={runner}",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "FAILED" not in result.stderr
    assert not (tmp_path / "scored").exists()


def test_run_dry_run_unknown_runner_is_usage_error(tmp_path):
    result = cli("run", "--dry-run", "--output", "out", "--runner=Bogus", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert "Bogus" in result.stderr


def test_score_output_fifo_trailing_slash_names_the_kind(tmp_path, model, reviews):
    os.mkfifo(tmp_path / "fifo")
    result = cli("score", "--model", model, "--input", reviews, "--output", "fifo/", cwd=tmp_path)
    assert result.returncode == 2
    assert "regular file" not in result.stderr, result.stderr
    assert "FIFO" in result.stderr


@pytest.mark.parametrize("output", ["/dev/null/", "/dev/null/."])
def test_score_output_devnull_trailing_slash_names_the_kind(tmp_path, model, reviews, output):
    result = cli("score", "--model", model, "--input", reviews, "--output", output, cwd=tmp_path)
    assert result.returncode == 2
    assert "regular file" not in result.stderr, result.stderr
    assert "character device" in result.stderr


@pytest.mark.parametrize("output", ["/dev/stdout/", "/dev/stdout/x", "/proc/self/fd/1/x"])
def test_score_output_below_piped_stdout_says_fifo(tmp_path, model, reviews, output):
    result = cli("score", "--model", model, "--input", reviews, "--output", output, cwd=tmp_path)
    assert result.returncode == 2
    assert "pipe:[" not in result.stderr, result.stderr
    assert "nowhere" not in result.stderr and "does not exist" not in result.stderr, result.stderr
    assert "FIFO" in result.stderr


def test_score_output_below_fifo_names_the_kind(tmp_path, model, reviews):
    os.mkfifo(tmp_path / "fifo")
    result = cli("score", "--model", model, "--input", reviews, "--output", "fifo/x", cwd=tmp_path)
    assert result.returncode == 2
    assert "FIFO" in result.stderr, result.stderr


def test_run_dry_run_dotdot_after_symlink_names_real_folder(tmp_path):
    (tmp_path / "d" / "deep").mkdir(parents=True)
    (tmp_path / "deepl").symlink_to("d/deep")
    result = cli("run", "--dry-run", "--output", "deepl/../new", cwd=tmp_path)
    assert result.returncode in (0, 2), result.stderr
    if result.returncode == 0:
        root_lines = [line for line in result.stdout.splitlines() if line.strip().startswith("root:")]
        expected = os.path.realpath(tmp_path / "deepl" / ".." / "new")  # what mkdir -p / ls would use
        assert root_lines and root_lines[0].split(":", 1)[1].strip() == os.path.join(
            expected, "pipeline_root"
        )


@pytest.mark.parametrize("command", ["score", "predict"])
def test_empty_input_flag_says_empty(tmp_path, model, command):
    args = ["--model", model, "--input="] + (["--output", "scored"] if command == "score" else [])
    result = cli(command, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "--input is empty" in result.stderr, result.stderr


def test_compile_empty_output_file_says_empty(tmp_path):
    result = cli("compile", "--output-file=", "--image", "img", cwd=tmp_path)
    assert result.returncode == 2
    assert "--output-file is empty" in result.stderr, result.stderr


def _store_with_one_run(output: Path) -> None:
    sqlite_store_with_runs(output, "imdb-sentiment")


@pytest.mark.parametrize("name", ["nope", ""])
def test_report_unknown_pipeline_name_says_so(tmp_path, name):
    _store_with_one_run(tmp_path / "out")
    check = cli("report", "--output", "out", "--reports", "rep", cwd=tmp_path)
    assert "no pipeline run" not in check.stderr, check.stderr  # the store does hold a run
    result = cli("report", "--output", "out", f"--pipeline-name={name}", "--reports", "rep", cwd=tmp_path)
    assert result.returncode == 2
    assert "has no pipeline run" not in result.stderr, result.stderr
    assert "imdb-sentiment" in result.stderr  # names the pipelines it holds


@pytest.mark.parametrize("kind", ["loop", "dangling"])
def test_compile_output_file_below_broken_link_says_what(tmp_path, kind):
    if kind == "loop":
        (tmp_path / "la").symlink_to("lb")
        (tmp_path / "lb").symlink_to("la")
    else:
        (tmp_path / "d").mkdir()
        (tmp_path / "la").symlink_to("d/sub")
    result = cli("compile", "--image", "img", "--output-file", "la/p.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert "File exists" not in result.stderr, result.stderr
    assert ("loop" if kind == "loop" else "d/sub") in result.stderr
