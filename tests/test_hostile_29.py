"""Hostile-user cases (pass 29): each test states a behaviour README.md promises, or that a usage
error must have, which the code did not keep when the pass found it (a full standard output, a
repeated --input, an archive name in a review folder, an output below /proc, a 0-byte .gz input).
"""

from __future__ import annotations

import io
from pathlib import Path
import subprocess
import tarfile

import pytest

from tests.conftest import CLI
from tests.imdb_files import GOOD_FILES, GOOD_REVIEWS, write_dataset
from tests.test_hostile_robustness import _assert_read_outcomes, _save_tiny_model


def _cli(*args: str, cwd: Path, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, timeout=300, errors="replace", text=True
    )


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# 1. predict, run --dry-run: standard output that cannot be written
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["predict", "run"])
def test_a_full_standard_output_is_one_line_naming_it_not_a_traceback(tmp_path, command):
    """``imdb-pipeline predict --model M "a good film" > /dev/full``, ``imdb-pipeline run --dry-run >
    /dev/full`` (``neighbors --model M great > /dev/full`` fails the same way).

    Before: a Python traceback ending ``OSError: [Errno 28] No space left on device``, exit code 1.
    Expected: one line ``imdb-pipeline <command>: cannot write to standard output: No space left on
    device``, exit code 1 (a reader that went away, ``| head``, already ends quietly with 1).
    """
    if command == "predict":
        args = ["--model", str(_save_tiny_model(tmp_path / "model" / "1", scale=1.0)), "a good film"]
    else:
        args = ["--dry-run", "--output", str(tmp_path / "out")]
    with open("/dev/full", "w") as full:
        result = _cli(command, *args, cwd=tmp_path, stdout=full)

    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"imdb-pipeline {command}: cannot write to standard output: No space left on device"
    ]
    assert result.returncode == 1


# --------------------------------------------------------------------------------------------
# 2. predict / score: --input given twice silently reads only the last file
# --------------------------------------------------------------------------------------------


def test_predict_with_input_given_twice_is_a_usage_error_naming_both_files(tmp_path):
    """``imdb-pipeline predict --model M --input a.txt --input b.txt``.

    Before: prints the score of b.txt's one review, exit 0; a.txt's reviews are silently not scored.
    Expected: a usage error (exit 2) naming both files, nothing scored, as for ``--config`` twice:
    ``imdb-pipeline predict: error: --input was given 2 times (a.txt, b.txt): give one file``.
    """
    (tmp_path / "a.txt").write_text("a great film\nawful\n")
    (tmp_path / "b.txt").write_text("fine\n")
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)

    result = _cli("predict", "--model", str(model), "--input", "a.txt", "--input", "b.txt", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    assert "--input was given 2 times (a.txt, b.txt)" in result.stderr


def test_score_with_input_given_twice_is_a_usage_error_naming_both_inputs(tmp_path):
    """``imdb-pipeline score --model M --input a.txt --input b.txt --output scored``.

    Before: ``scored 1 reviews of b.txt ...``, exit 0. Expected: exit 2 before the job starts, naming
    both inputs, and no output folder.
    """
    (tmp_path / "a.txt").write_text("a great film\nawful\n")
    (tmp_path / "b.txt").write_text("fine\n")
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)

    result = _cli(
        "score", "--model", str(model), "--input", "a.txt", "--input", "b.txt", "--output", "scored",
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    assert "--input was given 2 times (a.txt, b.txt)" in result.stderr
    assert not (tmp_path / "scored").exists()


# --------------------------------------------------------------------------------------------
# 3. ExampleGen: an archive file inside a dataset folder's review folder
# --------------------------------------------------------------------------------------------

_NESTED = _tar_gz({"aclImdb/train/neg/9_1.txt": b"A smuggled review."})


@pytest.mark.parametrize("name", ["5_8.tar.gz", "notes.tar"])
def test_an_archive_name_inside_a_review_folder_is_a_bad_file_name_not_more_reviews(tmp_path, name):
    """``imdb-pipeline run --data ds`` with a tar.gz of ``aclImdb/train/neg/777777_1.txt`` added to
    the bundled sample's ``train/pos/``:

    - as ``900015_8.tar.gz``: the run ingests that member as a train/neg review (train neg 888 ->
      889, logged as ``.../900015_8.tar.gz (member aclImdb/train/neg/777777_1.txt)``) and sets
      nothing aside for the file;
    - as ``notes.tar`` (gzip bytes, not a plain tar): ``FileBasedExampleGen: failed ...:
      ImdbArchiveError: .../train/pos/notes.tar: truncated or corrupt archive, before its first
      member, 217 of 217 bytes read: ReadError: truncated header``, exit code 1.

    README: "Every entry of a review folder ... is accounted for, whatever its name or kind: it
    becomes an example or a record set aside with its reason" (``bad_file_name``: not named
    ``<id>_<rating>.txt``), and "one file can only ever cost its own record, never the run".
    """
    root = write_dataset(tmp_path / "aclImdb", {**GOOD_FILES, f"train/pos/{name}": _NESTED})
    expected = [("review", review) for review in GOOD_REVIEWS] + [
        ("set_aside", f"train/pos/{name}", "bad_file_name")
    ]

    _assert_read_outcomes(str(root / "*/*/*.txt"), root, expected)


# --------------------------------------------------------------------------------------------
# 4. run: an output folder the OS will not make, though os.access says its parent is writable
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
def test_run_with_an_output_below_proc_is_a_configuration_error_naming_output(tmp_path, dry_run):
    """``imdb-pipeline run --output /proc/x [--dry-run]``.

    Today: ``--dry-run`` exits 0 printing ``root: /proc/x/pipeline_root``; the run logs ``Pipeline
    failed`` and ends ``imdb-pipeline run: FAILED: FileNotFoundError: [Errno 2] No such file or
    directory: '/proc/x'`` with exit code 1. README ("When the input is bad"): "an output that
    cannot be created or written" is refused by the pre-flight, a configuration error (exit 2)
    naming the field, as ``score --output /proc/x`` is.
    """
    output = "/proc/hostile-29-output"
    result = _cli("run", "--output", output, *(["--dry-run"] if dry_run else []), cwd=tmp_path)

    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    # As root (os.access grants /proc) or not (/proc is read-only to others): the field and the path.
    assert last.startswith("imdb-pipeline run: configuration error: output: cannot ")
    assert output in last
    assert not Path(output).exists()


# --------------------------------------------------------------------------------------------
# 5. score: a .gz input cut short to 0 bytes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "reviews.txt.gz",
            "imdb-pipeline score: reviews.txt.gz: truncated or damaged gzip file after line 0: ",
        ),
        (
            "reviews.jsonl.gz",
            "imdb-pipeline score: reviews.jsonl.gz: truncated or damaged gzip file after line 0: ",
        ),
        (
            "reviews.tfrecord.gz",
            "imdb-pipeline score: reviews.tfrecord.gz: truncated or corrupt TFRecord file after record 0 "
            "(compression GZIP): ",
        ),
    ],
)
def test_score_refuses_a_gzip_input_cut_short_to_nothing(tmp_path, name, message):
    """``: > reviews.txt.gz; imdb-pipeline score --model M --input reviews.txt.gz --output scored``
    (a download or sync that failed before its first byte).

    Before: ``scored 0 reviews of reviews.txt.gz ..., set aside 0: scored``, exit 0, and a summary.json
    saying so. README (Bulk scoring): "a .gz file is decompressed and checked to its end (a truncated
    or damaged one stops the job with exit code 2, naming the file and the last line read, rather
    than scoring part of it)": as ``head -c 5`` of the file is.
    """
    (tmp_path / name).write_bytes(b"")
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)

    result = _cli("score", "--model", str(model), "--input", name, "--output", "scored", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(message)
    assert not (tmp_path / "scored").exists()
