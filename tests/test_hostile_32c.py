"""Hostile pass: the options of `run` at and beyond their edges, alone and combined.

Each test asserts the behaviour at an edge: a refusal before any step naming the options, or a step's
one-line error naming the option that caused it.
"""

from pathlib import Path
import subprocess

import pytest

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]

# transform.min_frequency above any token's count in the bundled sample: the vocabulary keeps no word.
NO_WORD = ("--transform.min_frequency", "1000000000", "--trainer.epochs", "1")


@pytest.fixture(scope="module", autouse=True)
def _this_checkout_first():
    """The console script's runs import this checkout, wherever the tests run from."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(REPO))
        yield


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


def assert_failed_naming(result: subprocess.CompletedProcess, *words: str) -> None:
    """The run failed in a step (exit 1), its last line the one-line error holding every word."""
    assert result.returncode == 1, result.stderr[-2000:]
    line = last_line(result)
    assert line.startswith("imdb-pipeline run: FAILED:")
    assert [word for word in words if word not in line] == [], line
    assert "Traceback" not in result.stderr


def run_in(workdir: Path, *options: str) -> tuple[Path, subprocess.CompletedProcess]:
    """``run --output <workdir>/out <options>``; returns the output folder and the result."""
    output = workdir / "out"
    return output, run_cli("run", "--output", str(output), *options, cwd=workdir)


@pytest.fixture(scope="module")
def wide_only_empty_vocabulary_run(tmp_path_factory):
    """A wide-only run (no embedding branch) whose vocabulary keeps no word."""
    return run_in(
        tmp_path_factory.mktemp("wide-only-empty-vocabulary"), *NO_WORD, "--trainer.use_embeddings", "false"
    )


# Options a wide-only model (trainer.use_embeddings false) cannot train with, and the options the refusal
# must name. frozen_then_fine_tune unfreezes an embedding layer the model does not have. One n-gram bucket
# holds every n-gram of every review: its Naive Bayes log-count ratio is log(1 / 1) = 0 whatever the
# labels, so nothing can be learnt.
WIDE_ONLY_CONFLICTS = {
    "frozen_then_fine_tune": (
        ("--trainer.embedding_training", "frozen_then_fine_tune"),
        "trainer.embedding_training",
    ),
    "one_ngram_bucket": (("--transform.ngram_buckets", "1"), "transform.ngram_buckets"),
}


@pytest.mark.parametrize(
    ("options", "named"),
    [pytest.param(options, named, id=key) for key, (options, named) in WIDE_ONLY_CONFLICTS.items()],
)
def test_a_wide_only_model_refuses_what_it_cannot_train_before_any_step(tmp_path, options, named):
    _, result = run_in(tmp_path, "--dry-run", "--trainer.use_embeddings", "false", *options)
    assert result.returncode == 2, result.stderr[-2000:]
    line = last_line(result)
    assert "configuration error" in line
    assert "trainer.use_embeddings" in line
    assert named in line
    assert "Traceback" not in result.stderr


def test_a_wide_only_model_whose_vocabulary_keeps_no_word_fails_in_the_transform_naming_the_option(
    wide_only_empty_vocabulary_run,
):
    # A wide-only model reads no token id, but its run still aligns embeddings to the vocabulary (the
    # Trainer's required input, recorded in the pushed manifest and the report): the vocabulary must hold
    # a word, and its step says which option left none.
    output, result = wide_only_empty_vocabulary_run
    assert_failed_naming(
        result, "EmptyVocabularyError:", "the vocabulary keeps no word", "transform.min_frequency"
    )
    assert " Transform: failed after " in result.stderr
    assert not (output / "serving").exists()


# Options whose edge makes a step fail: the step, and the words its one-line error must hold.
FAILS_NAMING = {
    "no_word_in_the_vocabulary": (
        NO_WORD,
        "Transform",
        ("EmptyVocabularyError:", "the vocabulary keeps no word", "transform.min_frequency"),
    ),
    "reviews_too_large": (
        ("--example_gen.max_review_bytes", "1000"),
        "FileBasedExampleGen",
        ("TooManyBadRecordsError:", "too_large 1996", "example_gen.max_review_bytes (1,000 bytes)"),
    ),
}


@pytest.mark.parametrize(
    ("options", "step", "words"),
    [pytest.param(options, step, words, id=key) for key, (options, step, words) in FAILS_NAMING.items()],
)
def test_an_option_at_its_edge_fails_the_run_naming_it(tmp_path, options, step, words):
    _, result = run_in(tmp_path, *options)
    assert_failed_naming(result, *words)
    assert f" {step}: failed after " in result.stderr
