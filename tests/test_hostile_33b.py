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


@pytest.mark.slow
def test_report_on_copy_whose_original_lost_its_evaluation_fails_as_the_original_does(pushed_run, tmp_path):
    output, _, _ = pushed_run
    copy = tmp_path / "copy"
    shutil.copytree(output, copy, symlinks=True)
    evaluation = output / "pipeline_root" / "Evaluator" / "evaluation"
    with _set_aside(evaluation, tmp_path / "evaluation-aside"):
        original = run_cli("report", "--output", str(output), "--reports", str(tmp_path / "r1"), cwd=tmp_path)
        copied = run_cli("report", "--output", str(copy), "--reports", str(tmp_path / "r2"), cwd=tmp_path)
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


_FIGURES = re.compile(
    r"needs about ([\d.,]+) GiB for that many ids .* this machine has ([\d.,]+) GiB of memory"
)


@settings(max_examples=50, deadline=None)
@given(buckets=st.integers(2**20, 2**30), short=st.integers(1, 2**20), cgroup=st.booleans())
def test_ngram_memory_refusal_shows_a_need_larger_than_the_memory(buckets, short, cgroup):
    config = PipelineConfig.model_validate({"transform": {"ngram_buckets": buckets}})
    memory = buckets * NGRAM_BYTES_PER_ID - short
    with pytest.raises(OptionsError) as refused:
        check_trainer_memory(config, memory, cgroup)
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
    assert str(refused.value) == (
        "transform.ngram_buckets is 16,777,216: the Trainer's n-gram branch needs about 0.9 GiB for that many "
        "ids (56 bytes each) and this machine has 0.0 GiB of memory (its total); nothing was run: lower "
        "transform.ngram_buckets"
    )
    with pytest.raises(OptionsError) as refused:
        check_trainer_memory(config, 2**29, cgroup=True)
    assert str(refused.value) == (
        "transform.ngram_buckets is 16,777,216: the Trainer's n-gram branch needs about 0.9 GiB for that many "
        "ids (56 bytes each) and this machine has 0.5 GiB of memory (the memory limit of this process's "
        "cgroup); nothing was run: lower transform.ngram_buckets (the default, 8,388,608, needs about 0.5 GiB)"
    )
