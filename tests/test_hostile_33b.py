"""Hostile checks of report on moved or copied outputs and of the Trainer memory pre-flight."""

import contextlib
from pathlib import Path
import re
import shutil

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from pipeline.config import OptionsError, PipelineConfig
from pipeline.preflight import NGRAM_BYTES_PER_ID, check_trainer_memory
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """One default run on the bundled sample: its output folder (in a working folder of its own)."""
    workdir = tmp_path_factory.mktemp("hostile-33b")
    output = workdir / "out"
    result = run_cli("run", "--output", str(output), cwd=workdir)
    assert result.returncode == 0, result.stderr
    return output


def _last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@contextlib.contextmanager
def _set_aside(path: Path, aside: Path):
    """``path`` renamed to ``aside`` for the block, renamed back however it ends."""
    path.rename(aside)
    try:
        yield
    finally:
        aside.rename(path)


def test_report_on_copy_whose_original_lost_its_evaluation_fails_as_the_original_does(run_output):
    output = run_output
    workdir = output.parent
    copy = workdir / "copy"
    shutil.copytree(output, copy, symlinks=True)
    evaluation = output / "pipeline_root" / "Evaluator" / "evaluation"
    try:
        with _set_aside(evaluation, workdir / "evaluation-aside"):
            original = run_cli("report", "--output", str(output), cwd=workdir)
            copied = run_cli("report", "--output", str(copy), cwd=workdir)
    finally:
        shutil.rmtree(copy)
    assert original.returncode == 1, original.stderr
    assert re.fullmatch(
        r"imdb-pipeline report: FAILED: run \S+: "
        + re.escape(str(evaluation))
        + r"/\d+ holds no evaluation: its files were removed, or it is not a ModelEvaluation artifact",
        _last_line(original.stderr),
    )
    # README: a copy is reported from the original's files; a run whose evaluation was removed from
    # pipeline_root is a failure naming the folder. The original folder was not moved: it is still there.
    assert copied.returncode == 1, copied.stderr
    assert _last_line(copied.stderr) == _last_line(original.stderr)
    assert re.search(r"\bmoved\b", _last_line(copied.stderr)) is None  # as a word: "removed" is in it


def test_report_on_moved_output_does_not_claim_to_read_the_folder_that_is_gone(run_output):
    moved = run_output.parent / "moved"
    with _set_aside(run_output, moved):
        result = run_cli("report", "--output", str(moved), cwd=moved.parent)
    output = run_output
    assert result.returncode == 2, result.stderr
    assert _last_line(result.stderr).startswith("imdb-pipeline report: run ")
    assert (
        f"the output seems to have been moved from {output} to {moved} (ML Metadata keeps absolute paths); "
        f"move or copy it back to {output} to report its runs, or run the pipeline into a new output folder"
    ) in result.stderr
    assert "which the report reads" not in result.stderr


_FIGURES = re.compile(
    r"needs about ([\d.,]+) GiB for that many ids .* this machine has ([\d.,]+) GiB of memory"
)


@settings(max_examples=50, deadline=None)
@given(buckets=st.integers(2**20, 2**30), short=st.integers(1, 2**20))
def test_ngram_memory_refusal_shows_a_need_larger_than_what_is_available(buckets, short):
    config = PipelineConfig.model_validate({"transform": {"ngram_buckets": buckets}})
    available = buckets * NGRAM_BYTES_PER_ID - short
    with pytest.raises(OptionsError) as refused:
        check_trainer_memory(config, available)
    needed_shown, available_shown = (
        float(text.replace(",", "")) for text in _FIGURES.search(str(refused.value)).groups()
    )
    assert needed_shown > available_shown, str(refused.value)


def test_ngram_memory_refusal_of_a_wide_only_model_does_not_advise_dropping_its_only_branch():
    config = PipelineConfig.model_validate(
        {"transform": {"ngram_buckets": 2**24}, "trainer": {"use_embeddings": False}}
    )
    with pytest.raises(OptionsError) as refused:
        check_trainer_memory(config, 2**20)
    message = str(refused.value)
    assert message.startswith(
        "transform.ngram_buckets is 16,777,216: the Trainer's n-gram branch needs about "
    )
    assert "lower transform.ngram_buckets (the default, 8,388,608, needs 0.4 GiB)" in message
    assert "use_ngrams" not in message
