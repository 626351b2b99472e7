"""Hostile pass: the options of `run` at and beyond their edges, alone and combined.

Each test asserts the correct behaviour and is marked xfail (strict) while the
pipeline still gets it wrong; a fix turns it into an XPASS, which fails.
"""

import os
from pathlib import Path
import subprocess
import sys

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_pipeline(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``python -m pipeline <args>`` in a fresh process, this checkout first on the path."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def empty_vocabulary_run(tmp_path_factory):
    """A run whose transform.min_frequency keeps no word of the bundled sample (it stops early)."""
    workdir = tmp_path_factory.mktemp("empty-vocabulary")
    return run_pipeline(
        "run",
        "--output",
        str(workdir / "out"),
        "--transform.min_frequency",
        "1000000000",
        "--trainer.epochs",
        "1",
        cwd=workdir,
    )


@pytest.fixture(scope="module")
def wide_only_empty_vocabulary_run(tmp_path_factory):
    """A wide-only run (no embedding branch) whose transform.min_frequency keeps no word."""
    workdir = tmp_path_factory.mktemp("wide-only-empty-vocabulary")
    output = workdir / "out"
    result = run_pipeline(
        "run",
        "--output",
        str(output),
        "--transform.min_frequency",
        "1000000000",
        "--trainer.use_embeddings",
        "false",
        "--trainer.epochs",
        "1",
        cwd=workdir,
    )
    return output, result


@pytest.mark.xfail(
    strict=True,
    reason="use_embeddings false with embedding_training frozen_then_fine_tune passes the checks and "
    "--dry-run, then the Trainer dies after its first epoch: 'No such layer: embedding'",
)
def test_wide_only_model_with_frozen_then_fine_tune_is_refused_before_any_step(tmp_path):
    result = run_pipeline(
        "run",
        "--dry-run",
        "--output",
        str(tmp_path / "out"),
        "--trainer.use_embeddings",
        "false",
        "--trainer.embedding_training",
        "frozen_then_fine_tune",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = last_line(result)
    assert "configuration error" in line
    assert "trainer.use_embeddings" in line
    assert "trainer.embedding_training" in line
    assert "Traceback" not in result.stderr


@pytest.mark.xfail(
    strict=True,
    reason="a transform.min_frequency that keeps no word fails in the EmbeddingAligner with 'the vocabulary "
    "has no words besides the reserved tokens', naming neither the option nor the vocabulary's step",
)
def test_a_vocabulary_with_no_word_fails_naming_transform_min_frequency(empty_vocabulary_run):
    result = empty_vocabulary_run
    assert result.returncode == 1, result.stderr[-2000:]
    line = last_line(result)
    assert line.startswith("imdb-pipeline run: FAILED:")
    assert "transform.min_frequency" in line
    assert "1000000000" in line or "1,000,000,000" in line
    assert "Traceback" not in result.stderr


@pytest.mark.xfail(
    strict=True,
    reason="transform.ngram_buckets 1 with trainer.use_embeddings false passes the checks; the Trainer then "
    "fails blaming trainer.ngram_min_frequency (4), though the one id is held by every train review",
)
def test_one_ngram_bucket_for_a_wide_only_model_is_refused_naming_ngram_buckets(tmp_path):
    # One bucket holds every n-gram of every review: its Naive Bayes log-count ratio is
    # log(1 / 1) = 0 whatever the labels, so the wide-only model can learn nothing.
    result = run_pipeline(
        "run",
        "--dry-run",
        "--output",
        str(tmp_path / "out"),
        "--transform.ngram_buckets",
        "1",
        "--trainer.use_embeddings",
        "false",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    line = last_line(result)
    assert "configuration error" in line
    assert "transform.ngram_buckets" in line
    assert "trainer.use_embeddings" in line
    assert "Traceback" not in result.stderr


@pytest.mark.xfail(
    strict=True,
    reason="reviews set aside as too_large by a small example_gen.max_review_bytes fail the run with "
    "'fix them ... or raise the limit' after naming only example_gen.max_bad_share",
)
def test_reviews_too_large_for_max_review_bytes_fail_naming_that_option(tmp_path):
    result = run_pipeline(
        "run",
        "--output",
        str(tmp_path / "out"),
        "--example_gen.max_review_bytes",
        "1000",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    line = last_line(result)
    assert line.startswith("imdb-pipeline run: FAILED: TooManyBadRecordsError:")
    assert "too_large 1996" in line
    assert "example_gen.max_review_bytes" in line
    assert "Traceback" not in result.stderr


@pytest.mark.xfail(
    strict=True,
    reason="a wide-only model (use_embeddings false) uses no vocabulary, yet a transform.min_frequency that "
    "keeps no word fails the run in the EmbeddingAligner: 'the vocabulary has no words besides the reserved tokens'",
)
def test_a_wide_only_model_trains_and_pushes_whatever_the_vocabulary_keeps(wide_only_empty_vocabulary_run):
    output, result = wide_only_empty_vocabulary_run
    assert result.returncode == 0, result.stderr[-2000:]
    assert "pushed to" in result.stdout
    assert len(list((output / "serving" / "imdb_sentiment").iterdir())) == 1
    assert "Traceback" not in result.stderr
