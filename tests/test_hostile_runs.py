"""The command line as a hostile user runs it: a failed step's records, glob characters in paths, score's outputs.

Each test runs the real console script (or the real Beam job) and checks what a
user sees: the exit code, the one-line message and what is left on disk.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
import signal
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from components.example_gen.options import ExampleGenOptions
from components.options import OptionsError
from pipeline import score
from pipeline.config import build_config
from schemas import features
from tests import score_outputs
from tests.conftest import CLI
from tests.imdb_files import GOOD_FILES, quarantine_lines, reason_properties, run_example_gen, write_dataset


def _cli(*args: str, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, capture_output=True, timeout=timeout, check=False, errors="replace", text=True
    )


def _last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


# --- a failed ExampleGen: TFX removes its outputs, the quarantine is kept ---------------------------


def test_a_run_that_fails_on_bad_records_keeps_its_quarantine_after_tfx_removes_the_outputs(tmp_path):
    bad = {f"train/pos/{i}_9.txt": b"" for i in range(10, 13)}
    root = write_dataset(tmp_path / "aclImdb", {**GOOD_FILES, **bad, "test/neg/9_1.txt": b"\xff"})
    output = tmp_path / "out"

    result = _cli("run", "--data", str(root), "--output", str(output), cwd=tmp_path)

    assert result.returncode == 1, result.stderr[-3000:]
    step_dir = output / "pipeline_root" / "FileBasedExampleGen"
    kept = step_dir / "failed_runs" / "1" / "quarantine"
    # TFX's launcher removed the failed execution's Examples folder, quarantine and all ...
    assert not (step_dir / "examples" / "1").exists()
    # ... and the message names the copy that is left.
    assert f"Every one is in {kept}/quarantine-*.jsonl with its reason and raw bytes" in _last_line(result)
    assert "traceback" not in result.stderr.lower()
    summary = json.loads((kept / "summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"empty": 3, "invalid_utf8": 1}
    lines = [
        json.loads(line)
        for path in sorted(kept.glob("quarantine-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert sorted((line["source"], line["reason"]) for line in lines) == [
        (str(root / "test" / "neg" / "9_1.txt"), "invalid_utf8"),
        (str(root / "train" / "pos" / "10_9.txt"), "empty"),
        (str(root / "train" / "pos" / "11_9.txt"), "empty"),
        (str(root / "train" / "pos" / "12_9.txt"), "empty"),
    ]


@pytest.mark.parametrize("character", ["[", "*", "?", "\\"])
def test_an_output_folder_with_a_glob_character_is_refused_naming_it_and_why(tmp_path, character):
    output = f"runs {character}1"

    result = _cli("run", "--dry-run", "--output", output, cwd=tmp_path)

    assert result.returncode == 2, result.stderr[-2000:]
    assert _last_line(result) == (
        f"imdb-pipeline run: configuration error: output: {tmp_path / output} holds {character!r}: Apache Beam's file writers "
        "(TFX's ExampleGen and Transform write with them) and TensorFlow's SavedModel reader take the "
        "paths below the output folder as glob patterns, so a run there would fail or mix up files; "
        "choose an output folder without '[', '*', '?' or '\\' (spaces, ']' and any other characters work)"
    )
    assert not (tmp_path / output).exists()


# --- score: a review the model gives no probability is set aside, never written -----------------------


class _BrokenForSomeReviews(tf.Module):
    """This pipeline's raw-text contract; NaN for 3-byte reviews, +inf for 4, 1.5 for 5, else a probability."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=features.TEXT_INPUT)])
    def serve(self, text):
        length = tf.strings.length(text)
        good = tf.sigmoid(tf.cast(length, tf.float32) - 8.0)
        broken = tf.where(length == 3, np.nan, tf.where(length == 4, np.inf, 1.5))
        return {features.PROBABILITY_OUTPUT: tf.where((length >= 3) & (length <= 5), broken, good)}


def test_score_sets_aside_a_review_the_model_gives_no_probability_and_writes_only_probabilities(tmp_path):
    module = _BrokenForSomeReviews()
    model = tmp_path / "serving" / "m" / "3"
    tf.saved_model.save(module, str(model), signatures={features.TEXT_SIGNATURE: module.serve})
    lines = ["a fine film", "bad", "okay", "great", "dull, dull"]
    (tmp_path / "in.txt").write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")

    result = _cli(
        "score", "--model", str(model.parent), "--input", "in.txt", "--output", "scored", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == (
        f"scored 2 reviews of in.txt with {model}, set aside 3 (not_a_probability 3): scored\n"
    )
    output = str(tmp_path / "scored")
    predictions = sorted(score_outputs.read_predictions(output), key=lambda row: row["line"])
    assert [(row["line"], row["label"]) for row in predictions] == [(1, 1), (5, 1)]
    assert all(math.isfinite(row["probability"]) for row in predictions)
    assert (
        "nan" not in "".join(path.read_text() for path in (tmp_path / "scored").glob("predictions-*")).lower()
    )
    set_aside = sorted(score_outputs.read_quarantine(output), key=lambda record: record.origin.line)
    source = "in.txt"  # as given
    assert [(str(record.origin), record.reason, record.raw, record.detail) for record in set_aside] == [
        (
            f"{source}, line {number}",
            "not_a_probability",
            text.encode(),
            f"{model} gave {value}, which is not a probability in [0, 1]: the model is broken for this "
            "review (the canary refuses such a model before a push)",
        )
        for number, text, value in ((2, "bad", "nan"), (3, "okay", "inf"), (4, "great", "1.5"))
    ]
    summary = score.read_summary(output)
    assert (summary.scored, summary.quarantined) == (2, {"not_a_probability": 3})


@pytest.mark.parametrize("character", ["[", "*", "?"])
def test_score_refuses_an_output_folder_with_a_glob_character(tmp_path, character):
    (tmp_path / "in.txt").write_text("a fine film\n", encoding="utf-8")
    module = _BrokenForSomeReviews()
    tf.saved_model.save(module, str(tmp_path / "m" / "1"), signatures={features.TEXT_SIGNATURE: module.serve})

    result = _cli(
        "score", "--model", "m", "--input", "in.txt", "--output", f"scored {character}1", cwd=tmp_path
    )

    assert result.returncode == 2, result.stderr[-3000:]
    assert _last_line(result) == (
        f"imdb-pipeline score: --output scored {character}1 holds {character!r}: Apache Beam's file writers "
        "take the paths below the output folder as glob patterns, so the job would fail or mix up files; "
        "choose an output folder without '[', '*' or '?' (spaces, ']' and any other characters work)"
    )
    assert not (tmp_path / f"scored {character}1").exists()


# --- special files: a FIFO where a review or the archive should be -------------------------------------


def test_a_fifo_in_a_dataset_folder_is_set_aside_not_read_forever(tmp_path):
    """Opening a FIFO waits for a writer: the run hung in ExampleGen, with no message."""
    root = write_dataset(tmp_path / "aclImdb", GOOD_FILES)
    fifo = root / "train" / "pos" / "9_9.txt"
    os.mkfifo(fifo)

    examples = run_example_gen(tmp_path, root, ExampleGenOptions(max_bad_share=1.0))

    assert quarantine_lines(examples.uri) == [
        {
            "detail": "a FIFO, not a file",
            "member": None,
            "raw_base64": "",
            "raw_truncated": False,
            "reason": "special_file",
            "size": 0,
            "source": str(fifo),
        }
    ]
    assert reason_properties(examples)["quarantined_special_file"] == 1


def test_a_fifo_named_like_an_archive_is_refused_by_the_pre_flight(tmp_path):
    os.mkfifo(tmp_path / "aclImdb_v1.tar.gz")

    result = _cli("run", "--dry-run", "--data", "aclImdb_v1.tar.gz", cwd=tmp_path)

    assert result.returncode == 2, result.stderr[-2000:]
    assert _last_line(result) == (
        f"imdb-pipeline run: configuration error: data: {tmp_path}/aclImdb_v1.tar.gz is not a regular file "
        "or a folder (a FIFO, a device or a socket?)"
    )


# --- span placeholders TFX's matching refuses: a configuration error, not a traceback -----------------


@pytest.mark.parametrize(
    ("relative", "problem"),
    [
        ("span-{SPAN}/x-{SPAN}/a.tar.gz", "holds {SPAN} 2 times; a span's path holds it once"),
        ("span-{SPAN}/v{VERSION}/v{VERSION}", "holds {VERSION} 2 times; a span's path holds it once"),
        ("{YYYY}-{MM}/a.tar.gz", "needs each of {YYYY}, {MM} and {DD} once when it holds a date"),
        ("{YYYY}{MM}{DD}-{DD}", "needs each of {YYYY}, {MM} and {DD} once when it holds a date"),
        ("{YYYY}{MM}{DD}-{SPAN}", "holds both {SPAN} and a date; a span is one or the other"),
        ("v{VERSION}/a.tar.gz", "holds {VERSION} without {SPAN} or a date"),
    ],
)
def test_span_placeholders_tfx_refuses_are_a_configuration_error(tmp_path, relative, problem):
    data = str(tmp_path / relative)
    with pytest.raises(OptionsError) as error:
        build_config({"data": data})
    assert str(error.value) == f"data: {data} {problem} (TFX's span placeholders)"


def test_a_span_placeholder_given_twice_is_exit_2_not_a_traceback(tmp_path):
    """``--data 'span-{SPAN}/x-{SPAN}/...'`` ended in ``re.error: redefinition of group name 'span'``
    with a traceback and exit code 1."""
    result = _cli("run", "--dry-run", "--data", "span-{SPAN}/x-{SPAN}/a.tar.gz", cwd=tmp_path)

    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert _last_line(result) == (
        f"imdb-pipeline run: configuration error: data: {tmp_path}/span-{{SPAN}}/x-{{SPAN}}/a.tar.gz holds "
        "{SPAN} 2 times; a span's path holds it once (TFX's span placeholders)"
    )


def test_ctrl_c_during_a_run_says_interrupted_in_one_line_and_frees_the_output(tmp_path):
    """Ctrl-C printed the ~225-line traceback of wherever the run was; the lock was released."""
    out = tmp_path / "out"
    # As from a shell: pytest-xdist's workers ignore SIGINT, and a child inherits that (Python then
    # installs no KeyboardInterrupt handler).
    process = subprocess.Popen(
        [CLI, "run", "--output", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in process.stderr:  # the steps' start lines come on stderr
        seen.append(line)
        if "FileBasedExampleGen" in line and "start" in line:
            break
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=120) == 130, "".join(seen) + rest
    assert rest.strip().splitlines()[-1] == "imdb-pipeline run: interrupted", rest
    assert "Traceback" not in rest, rest
    # The step is said to be interrupted: it did not fail ("failed after 0.3 s: KeyboardInterrupt").
    assert "failed" not in rest, rest
    assert [
        line.split(" ", 2)[2].split(" after ")[0] for line in rest.splitlines() if "Step 1/14" in line
    ] == ["Step 1/14 FileBasedExampleGen: interrupted"], rest
    # The output is free again: a dry run of the same output is not refused as busy (exit 3).
    assert _cli("run", "--output", str(out), "--dry-run", cwd=tmp_path).returncode == 0
