"""Hostile pass 32b: configuration files and flags, a failed run's report, and compile's messages.

Each test asserts the correct behaviour where a user met a defect.
"""

import os
from pathlib import Path
import re
import shutil

import pytest

from pipeline.config import SAMPLE_DATA
from tests.conftest import run_cli

# A run that fails in the Trainer (no n-gram id is held by that many train reviews and the embedding
# branch is off), after every step before it, the DriftCheck included, has completed.
FAILING_TRAINER_CONFIG = "trainer:\n  use_embeddings: false\n  ngram_min_frequency: 1000000\n"


def _page_text(path: Path) -> str:
    """The visible text of an HTML page, white space made single spaces."""
    html = re.sub(r"<style.*?</style>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _dry_run_with_config(folder: Path, text: str, *flags: str):
    """``run --dry-run --config c.yaml [flags]`` in ``folder``, c.yaml holding ``text``."""
    (folder / "c.yaml").write_text(text, encoding="utf-8")
    return run_cli("run", "--dry-run", "--config", "c.yaml", *flags, cwd=folder)


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """The output folder of one run on the bundled sample that failed in the Trainer, and its report."""
    workdir = tmp_path_factory.mktemp("hostile-32b-failed")
    (workdir / "fail.yaml").write_text(FAILING_TRAINER_CONFIG, encoding="utf-8")
    output = workdir / "out"
    result = run_cli("run", "--config", "fail.yaml", "--output", str(output), cwd=workdir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Step 9/14 DriftCheck: executed" in result.stderr
    assert "trainer.ngram_min_frequency is 1000000" in result.stderr
    report = run_cli("report", "--output", str(output), cwd=workdir)
    assert report.returncode == 0, report.stderr[-2000:]
    pages = list((output / "reports").glob("*/report.html"))
    assert len(pages) == 1
    return output, _page_text(pages[0])


def test_report_of_a_run_that_failed_after_its_drift_check_shows_the_drift_check(failed_run):
    _output, text = failed_run
    assert "DriftCheck complete" in text  # the steps table: the check did run
    assert "No drift check in this run" not in text
    assert "Span 0 (no earlier span: train against test only)" in text
    assert "label balance of train (0.49 positive) and test (0.50 positive) differ in span 0" in text


def test_compile_dry_run_is_not_steered_to_beams_dry_run(tmp_path):
    result = run_cli(
        "compile",
        "--output-file",
        "p.yaml",
        "--image",
        "img:1",
        "--output",
        "gs://b/o",
        "--dry-run",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "--dry_run" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline compile: error: unknown option --dry-run; options that are not imdb-pipeline compile's "
        "go to Apache Beam only if Beam knows them (see imdb-pipeline compile --help)"
    )
    assert not (tmp_path / "p.yaml").exists()


def test_config_option_name_with_a_trailing_space_is_shown_quoted(tmp_path):
    result = _dry_run_with_config(tmp_path, 'trainer:\n  "epochs ": 4\n', "--output", "out")
    assert result.returncode == 2
    assert "c.yaml, line 2: unknown option 'trainer.epochs ' (did you mean trainer.epochs?); known: " in (
        result.stderr
    )


def test_config_blank_output_is_refused_as_the_flag_is(tmp_path):
    result = _dry_run_with_config(tmp_path, 'output: "  "\n')
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline run: configuration error: config file c.yaml, line 1: output is blank (white space "
        "only), got '  ': give a value, or leave it out for its default"
    )


def test_dry_run_names_the_span_a_run_would_ingest(tmp_path):
    for span in (1, 2):
        (tmp_path / f"span-{span}").mkdir()
        shutil.copy(SAMPLE_DATA, tmp_path / f"span-{span}" / "aclImdb_v1.tar.gz")
    result = run_cli(
        "run", "--dry-run", "--data", "span-{SPAN}/aclImdb_v1.tar.gz", "--output", "out", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    data_line = next(line for line in result.stdout.splitlines() if line.strip().startswith("data:"))
    assert "span 2" in data_line
    assert (
        data_line
        == f"  data:     {os.path.realpath(tmp_path)}/span-{{SPAN}}/aclImdb_v1.tar.gz (span 2, the newest)"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["1", "yes", "on"])
def test_true_false_flag_refuses_what_a_config_file_refuses(tmp_path, value):
    result = run_cli("run", "--dry-run", "--output", "out", "--trainer.warm_start", value, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == (
        "imdb-pipeline run: error: argument --trainer.warm_start: expected true or false (true, True, TRUE, "
        f"false, False, FALSE), got {value!r}: write true"
    )
