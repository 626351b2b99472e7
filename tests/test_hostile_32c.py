"""Hostile pass: the options of `run` at and beyond their edges, alone and combined.

Each test asserts the correct behaviour and is marked xfail (strict) while the
pipeline still gets it wrong; a fix turns it into an XPASS, which fails.
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


# Options a wide-only model (trainer.use_embeddings false) cannot train with: the options the refusal
# must name, and what happens today. One n-gram bucket holds every n-gram of every review: its
# Naive Bayes log-count ratio is log(1 / 1) = 0 whatever the labels, so nothing can be learnt.
WIDE_ONLY_CONFLICTS = {
    "frozen_then_fine_tune": (
        ("--trainer.embedding_training", "frozen_then_fine_tune"),
        "trainer.embedding_training",
        "it passes the checks and --dry-run, then the Trainer dies after its first epoch: 'No such layer: embedding'",
    ),
    "one_ngram_bucket": (
        ("--transform.ngram_buckets", "1"),
        "transform.ngram_buckets",
        "it passes the checks; the Trainer then fails blaming trainer.ngram_min_frequency (4), though every "
        "train review holds the one id",
    ),
}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        pytest.param(
            options, named, id=key, marks=pytest.mark.xfail(strict=True, reason=f"wide-only, {key}: {why}")
        )
        for key, (options, named, why) in WIDE_ONLY_CONFLICTS.items()
    ],
)
def test_a_wide_only_model_refuses_what_it_cannot_train_before_any_step(tmp_path, options, named):
    _, result = run_in(tmp_path, "--dry-run", "--trainer.use_embeddings", "false", *options)
    assert result.returncode == 2, result.stderr[-2000:]
    line = last_line(result)
    assert "configuration error" in line
    assert "trainer.use_embeddings" in line
    assert named in line
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


# Options whose edge makes a step fail: the words its one-line error must hold, and what it says today.
FAILS_NAMING = {
    "no_word_in_the_vocabulary": (
        NO_WORD,
        ("transform.min_frequency",),
        "it fails in the EmbeddingAligner with 'the vocabulary has no words besides the reserved tokens', "
        "naming neither the option nor the vocabulary's step",
    ),
    "reviews_too_large": (
        ("--example_gen.max_review_bytes", "1000"),
        ("TooManyBadRecordsError:", "too_large 1996", "example_gen.max_review_bytes"),
        "the reviews it sets aside as too_large fail the run with 'fix them ... or raise the limit' after "
        "naming only example_gen.max_bad_share",
    ),
}


@pytest.mark.parametrize(
    ("options", "words"),
    [
        pytest.param(options, words, id=key, marks=pytest.mark.xfail(strict=True, reason=f"{key}: {why}"))
        for key, (options, words, why) in FAILS_NAMING.items()
    ],
)
def test_an_option_at_its_edge_fails_the_run_naming_it(tmp_path, options, words):
    _, result = run_in(tmp_path, *options)
    assert_failed_naming(result, *words)
