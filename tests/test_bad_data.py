"""Bad review data: each case is set aside with its reason (the run goes on) or stops the run.

Records set aside land in the quarantine of the Examples artifact, one JSON
line each with the raw bytes; too many bad records, or splits that cannot
train and evaluate a classifier, stop the run with a message saying why.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
import re
import shutil
import tempfile

from apache_beam.pvalue import TaggedOutput
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from components.artifacts import quarantine
from components.artifacts.quarantine import Origin, QuarantinedRecord
from components.example_gen import duplicates, executor, reader
from components.example_gen.errors import BadRecordError, ImdbDataError
from components.example_gen.options import ExampleGenOptions
from components.example_gen.quarantining import TooManyBadRecordsError, bad_records_problem
from components.example_gen.reader import Review
from schemas import features
from tests.conftest import BEAM_RUNNER, shared_data_file
from tests.imdb_files import (
    GOOD_FILES,
    GOOD_SPLITS,
    examples_dir,
    quarantine_lines,
    reason_properties,
    record_of_line,
    run_example_gen,
    split_sources,
    write_archive,
    write_dataset,
)

MAX = ExampleGenOptions().max_review_bytes


def kept_summary(tmp_path):
    """The summary.json kept of a failed ExampleGen run of :func:`run_example_gen`."""
    return tmp_path / "failed_runs" / "examples" / "quarantine" / "summary.json"


LENIENT = ExampleGenOptions(max_bad_share=1.0)

# --- one review file's bytes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "size", "reason", "message"),
    [
        (b"", 0, quarantine.EMPTY, "f: empty file (0 bytes)"),
        (b"  \n\t\r\n ", 7, quarantine.WHITESPACE_ONLY, "f: only white space (7 bytes)"),
        (b"Caf\xe9 au lait", 12, quarantine.INVALID_UTF8, "f: not valid UTF-8 (invalid continuation byte at byte 3)"),
        (b"ok \xff", 4, quarantine.INVALID_UTF8, "f: not valid UTF-8 (invalid start byte at byte 3)"),
        (bytes(range(256)), 256, quarantine.BINARY, "f: binary data (a NUL byte at byte 0)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 16, quarantine.BINARY, "f: binary data (a NUL byte at byte 8)"),
        (b"x" * (MAX + 1), 5_000_000, quarantine.TOO_LARGE, "f: 5,000,000 bytes, more than example_gen.max_review_bytes (1,000,000)"),
        (b"x" * (MAX + 1), MAX, quarantine.TOO_LARGE, "f: 1,000,001 bytes, more than example_gen.max_review_bytes (1,000,000)"),
    ],
)  # fmt: skip
def test_check_review_bytes_names_the_reason(data, size, reason, message):
    with pytest.raises(BadRecordError) as error:
        reader.check_review_bytes(data, size, MAX, "f")
    assert (error.value.reason, str(error.value)) == (reason, message)


@pytest.mark.parametrize(
    ("data", "text"),
    [
        # Four IMDb reviews hold a stray control character (0x08, 0x10, 0x18): still text.
        (b"Fine\x10 film", "Fine\x10 film"),
        ("Café — très bien".encode(), "Café — très bien"),
        (b" x ", " x "),
        (b"x" * MAX, "x" * MAX),
    ],
)
def test_check_review_bytes_accepts_text(data, text):
    assert reader.check_review_bytes(data, len(data), MAX, "f") == text


def test_bad_record_errors_survive_pickling():
    """Beam pickles exceptions between workers: the reason must come through."""
    import pickle

    error = pickle.loads(pickle.dumps(BadRecordError(quarantine.EMPTY, "f", "empty file (0 bytes)")))
    assert (error.reason, error.where, error.problem, str(error)) == (
        quarantine.EMPTY,
        "f",
        "empty file (0 bytes)",
        "f: empty file (0 bytes)",
    )


# --- the quarantine line format --------------------------------------------------------------------


def test_quarantine_line_is_json_with_base64_raw_bytes():
    record = QuarantinedRecord(
        Origin("/d/aclImdb_v1.tar.gz", "aclImdb/train/pos/7_8.txt"),
        quarantine.INVALID_UTF8,
        "not valid UTF-8 (invalid start byte at byte 3)",
        b"ok \xff bad",
        8,
    )
    line = record.to_json_line()
    assert line == (
        '{"detail": "not valid UTF-8 (invalid start byte at byte 3)", "member": "aclImdb/train/pos/7_8.txt", '
        '"raw_base64": "b2sg/yBiYWQ=", "raw_truncated": false, "reason": "invalid_utf8", "size": 8, '
        '"source": "/d/aclImdb_v1.tar.gz"}'
    )
    assert record_of_line(line) == record


def test_quarantine_line_of_a_loose_file_too_large():
    record = QuarantinedRecord(Origin("/d/train/pos/1_9.txt"), quarantine.TOO_LARGE, "big", b"abc", 5_000_000)
    assert record.to_json_line() == (
        '{"detail": "big", "member": null, "raw_base64": "YWJj", "raw_truncated": true, '
        '"reason": "too_large", "size": 5000000, "source": "/d/train/pos/1_9.txt"}'
    )
    assert str(record.origin) == "/d/train/pos/1_9.txt"


# --- the reader sets bad records aside ---------------------------------------------------------------


def expect_read(
    pattern: str, reviews: list[Review], set_aside: list[QuarantinedRecord], max_review_bytes: int = MAX
) -> None:
    """Runs ReadImdbReviews and checks both of its outputs exactly."""
    with TestPipeline(runner=BEAM_RUNNER) as pipeline:
        result = pipeline | reader.ReadImdbReviews(pattern, max_review_bytes)
        assert_that(result[reader.REVIEWS], equal_to(reviews), label="Reviews")
        assert_that(result[reader.QUARANTINE], equal_to(set_aside), label="SetAside")


def bad_files(big: bytes) -> dict[str, bytes]:
    return {
        "train/pos/10_8.txt": b"",
        "train/pos/11_8.txt": b"  \n\t\r\n ",
        "train/neg/12_2.txt": b"Caf\xe9 au lait",
        "train/neg/13_2.txt": bytes(range(256)),
        "test/pos/14_9.txt": big,
        "train/pos/review_9.txt": b"Good.",
        "train/neg/15_9.txt": b"Great!",
        "train/neutral/16_5.txt": b"Meh.",
        "valid/pos/17_9.txt": b"Nice.",
    }


def expected_bad_records(where: str, member: bool, big: bytes) -> list[QuarantinedRecord]:
    def origin(name: str) -> Origin:
        return Origin(where, f"aclImdb/{name}") if member else Origin(f"{where}/{name}")

    q = quarantine
    return sorted(
        [
            QuarantinedRecord(origin("train/pos/10_8.txt"), q.EMPTY, "empty file (0 bytes)", b"", 0),
            QuarantinedRecord(
                origin("train/pos/11_8.txt"),
                q.WHITESPACE_ONLY,
                "only white space (7 bytes)",
                b"  \n\t\r\n ",
                7,
            ),
            QuarantinedRecord(
                origin("train/neg/12_2.txt"),
                q.INVALID_UTF8,
                "not valid UTF-8 (invalid continuation byte at byte 3)",
                b"Caf\xe9 au lait",
                12,
            ),
            QuarantinedRecord(
                origin("train/neg/13_2.txt"),
                q.BINARY,
                "binary data (a NUL byte at byte 0)",
                bytes(range(256)),
                256,
            ),
            QuarantinedRecord(
                origin("test/pos/14_9.txt"),
                q.TOO_LARGE,
                "5,000,000 bytes, more than example_gen.max_review_bytes (1,000,000)",
                big[:MAX],
                5_000_000,
            ),
            QuarantinedRecord(
                origin("train/pos/review_9.txt"),
                q.BAD_FILE_NAME,
                "review file name must be <id>_<rating>.txt, got 'review_9.txt'",
                b"Good.",
                5,
            ),
            QuarantinedRecord(
                origin("train/neg/15_9.txt"),
                q.RATING_CONTRADICTS_FOLDER,
                "rating 9 contradicts folder 'neg' (neg needs a rating of 1-4)",
                b"Great!",
                6,
            ),
            QuarantinedRecord(
                origin("train/neutral/16_5.txt"),
                q.UNKNOWN_FOLDER,
                "folder 'train/neutral' is not a review folder <train|test>/<pos|neg|unsup>",
                b"Meh.",
                4,
            ),
            QuarantinedRecord(
                origin("valid/pos/17_9.txt"),
                q.UNKNOWN_FOLDER,
                "folder 'valid/pos' is not a review folder <train|test>/<pos|neg|unsup>",
                b"Nice.",
                5,
            ),
        ],
        key=lambda record: str(record.origin),
    )


@pytest.fixture(scope="module")
def five_megabytes() -> bytes:
    return (b"A very long review. " * 250_000)[:5_000_000]


def test_bad_files_in_a_folder_are_set_aside_with_their_reason_and_bytes(tmp_path, five_megabytes):
    root = write_dataset(tmp_path / "aclImdb", {"train/pos/0_9.txt": b"Good.", **bad_files(five_megabytes)})

    expect_read(
        str(root / "*/*/*.txt"),
        [Review("train/pos/0_9.txt", "train", "pos", 0, 9, "Good.")],
        expected_bad_records(str(root), member=False, big=five_megabytes),
    )


def test_bad_members_of_an_archive_are_set_aside_naming_the_member(tmp_path, five_megabytes):
    files = {"train/pos/0_9.txt": b"Good.", **bad_files(five_megabytes), "README": b"not a review\n"}
    archive = write_archive(tmp_path / "aclImdb.tar.gz", files)

    expect_read(
        str(archive),
        [Review("train/pos/0_9.txt", "train", "pos", 0, 9, "Good.")],
        expected_bad_records(str(archive), member=True, big=five_megabytes),
    )


def test_max_review_bytes_is_configurable(tmp_path):
    root = write_dataset(
        tmp_path / "aclImdb", {"train/pos/0_9.txt": b"x" * 1_500, "train/pos/1_9.txt": b"ok"}
    )

    expect_read(
        str(root / "*/*/*.txt"),
        [Review("train/pos/1_9.txt", "train", "pos", 1, 9, "ok")],
        [
            QuarantinedRecord(
                Origin(f"{root}/train/pos/0_9.txt"),
                quarantine.TOO_LARGE,
                "1,500 bytes, more than example_gen.max_review_bytes (1,000)",
                b"x" * 1_000,
                1_500,
            )
        ],
        max_review_bytes=1_000,
    )


def test_symlinks_in_a_folder_are_never_followed(tmp_path):
    outside = write_dataset(tmp_path / "outside", {"secret.txt": b"private", "negs/0_1.txt": b"Bad."})
    root = write_dataset(tmp_path / "aclImdb", {"train/pos/0_9.txt": b"Good."})
    os.symlink(outside / "secret.txt", root / "train" / "pos" / "1_9.txt")
    os.symlink(tmp_path / "missing.txt", root / "train" / "pos" / "2_9.txt")
    os.symlink(outside / "negs", root / "train" / "neg")
    # Outside the pattern's reach: not a review location, so not reported.
    os.symlink(outside / "secret.txt", root / "README")

    expect_read(
        str(root / "*/*/*.txt"),
        [Review("train/pos/0_9.txt", "train", "pos", 0, 9, "Good.")],
        [
            QuarantinedRecord(
                Origin(f"{root}/train/neg"),
                quarantine.SYMLINK,
                f"symbolic link to '{outside}/negs' (a folder), never followed",
                f"{outside}/negs".encode(),
                len(f"{outside}/negs"),
            ),
            QuarantinedRecord(
                Origin(f"{root}/train/pos/1_9.txt"),
                quarantine.SYMLINK,
                f"symbolic link to '{outside}/secret.txt' (a file), never followed",
                f"{outside}/secret.txt".encode(),
                len(f"{outside}/secret.txt"),
            ),
            QuarantinedRecord(
                Origin(f"{root}/train/pos/2_9.txt"),
                quarantine.SYMLINK,
                f"symbolic link to '{tmp_path}/missing.txt' (missing), never followed",
                f"{tmp_path}/missing.txt".encode(),
                len(f"{tmp_path}/missing.txt"),
            ),
        ],
    )


@pytest.mark.parametrize("pattern", ["aclImdb/*/*/*.txt", "*/*/*/*.txt"])
def test_symlinks_are_found_only_below_the_pattern_root(tmp_path, monkeypatch, pattern):
    root = write_dataset(tmp_path / "aclImdb", {"train/pos/0_9.txt": b"Good."})
    os.symlink("0_9.txt", root / "train" / "pos" / "1_9.txt")
    monkeypatch.chdir(tmp_path)

    listed = list(reader.list_dataset(pattern))
    assert [str(entry.value.origin) for entry in listed if isinstance(entry, TaggedOutput)] == [
        "aclImdb/train/pos/1_9.txt"
    ]
    # The link is set aside, never read; nothing is listed from a folder dataset's surroundings.
    assert [entry.path for entry in listed if not isinstance(entry, TaggedOutput)] == [
        "aclImdb/train/pos/0_9.txt"
    ]
    assert list(reader.list_dataset(str(tmp_path / "aclImdb.tar.gz"))) == []


def test_a_dataset_of_only_bad_files_is_not_called_empty(tmp_path):
    """The reader only fails when nothing at all was found; bad files go to the limit check."""
    root = write_dataset(tmp_path / "aclImdb", {"train/pos/0_9.txt": b"", "train/neg/0_1.txt": b"\xff"})

    expect_read(
        str(root / "*/*/*.txt"),
        [],
        [
            QuarantinedRecord(
                Origin(f"{root}/train/neg/0_1.txt"),
                quarantine.INVALID_UTF8,
                "not valid UTF-8 (invalid start byte at byte 0)",
                b"\xff",
                1,
            ),
            QuarantinedRecord(
                Origin(f"{root}/train/pos/0_9.txt"), quarantine.EMPTY, "empty file (0 bytes)", b"", 0
            ),
        ],
    )


# --- the step: quarantine output, limits, splits -----------------------------------------------------


def test_bad_records_under_the_limit_are_set_aside_and_the_run_goes_on(tmp_path):
    archive = write_archive(
        tmp_path / "aclImdb.tar.gz",
        {**GOOD_FILES, "train/pos/9_9.txt": b"", "test/neg/9_1.txt": b"ok \xff bad"},
    )

    examples = run_example_gen(tmp_path, archive, ExampleGenOptions(max_bad_share=0.25))

    assert {split: split_sources(examples, split) for split in GOOD_SPLITS} == GOOD_SPLITS
    assert quarantine_lines(examples.uri) == [
        {
            "source": str(archive),
            "member": "aclImdb/test/neg/9_1.txt",
            "reason": "invalid_utf8",
            "detail": "not valid UTF-8 (invalid start byte at byte 3)",
            "size": 8,
            "raw_base64": base64.b64encode(b"ok \xff bad").decode(),
            "raw_truncated": False,
        },
        {
            "source": str(archive),
            "member": "aclImdb/train/pos/9_9.txt",
            "reason": "empty",
            "detail": "empty file (0 bytes)",
            "size": 0,
            "raw_base64": "",
            "raw_truncated": False,
        },
    ]
    assert reason_properties(examples) == {
        "reviews_read": 8,
        "quarantined": 2,
        "quarantined_empty": 1,
        "quarantined_invalid_utf8": 1,
    }
    assert sorted(os.listdir(examples.uri)) == [
        "Split-eval",
        "Split-test",
        "Split-train",
        "Split-unsup",
        "quarantine",
    ]


def test_too_many_bad_records_fail_the_run_with_a_summary(tmp_path):
    bad = {f"train/pos/{i}_9.txt": b"" for i in range(10, 13)}
    bad["test/neg/9_1.txt"] = b"\xff"
    archive = write_archive(tmp_path / "aclImdb.tar.gz", {**GOOD_FILES, **bad})

    with pytest.raises(TooManyBadRecordsError) as error:
        run_example_gen(tmp_path, archive)  # default: at most 1 % bad

    where = f"{archive} (member aclImdb"
    # TFX removes a failed execution's outputs: the message names the copy kept beside them.
    kept = tmp_path / "failed_runs" / "examples"
    quarantine_dir = kept / "quarantine"
    assert str(error.value) == (
        "too many bad review records: 4 of 12 (33.3%) were set aside, and example_gen.max_bad_share is 0.01. "
        f"By reason: empty 3 ({where}/train/pos/10_9.txt), {where}/train/pos/11_9.txt), "
        f"{where}/train/pos/12_9.txt)), invalid_utf8 1 ({where}/test/neg/9_1.txt)). "
        f"Every one is in {quarantine_dir}/quarantine-*.jsonl with its reason and raw bytes; "
        "fix them and run again, or raise the limit"
    )
    # Nothing is lost: the failed run's quarantine, and the copy kept of it, hold them all.
    for folder in (examples_dir(tmp_path), kept):
        assert [line["member"] for line in quarantine_lines(folder)] == [
            "aclImdb/test/neg/9_1.txt",
            "aclImdb/train/pos/10_9.txt",
            "aclImdb/train/pos/11_9.txt",
            "aclImdb/train/pos/12_9.txt",
        ]
    assert quarantine.read_summary(str(quarantine_dir)).counts == {"empty": 3, "invalid_utf8": 1}


def test_max_bad_records_limits_the_count_whatever_the_share(tmp_path):
    root = write_dataset(
        tmp_path / "aclImdb", {**GOOD_FILES, "train/pos/9_9.txt": b"", "train/pos/8_9.txt": b" "}
    )

    with pytest.raises(TooManyBadRecordsError) as error:
        run_example_gen(tmp_path, root, ExampleGenOptions(max_bad_share=1.0, max_bad_records=1))

    assert str(error.value).startswith(
        "too many bad review records: 2 of 10 (20.0%) were set aside, and example_gen.max_bad_records is 1. "
        f"By reason: empty 1 ({root}/train/pos/9_9.txt), whitespace_only 1 ({root}/train/pos/8_9.txt)."
    )


def test_a_missing_neg_folder_stops_the_run(tmp_path):
    files = {name: data for name, data in GOOD_FILES.items() if not name.startswith("train/neg")}
    root = write_dataset(tmp_path / "aclImdb", files)

    with pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, root)

    assert str(error.value) == (
        "the train split has 1 positive and 0 negative reviews, a classifier needs both "
        "(is train/neg/ missing, empty or all set aside?). What was read and set aside is kept in "
        f"{kept_summary(tmp_path)}"
    )


def test_a_dataset_without_test_reviews_stops_the_run(tmp_path):
    files = {name: data for name, data in GOOD_FILES.items() if not name.startswith("test/")}
    archive = write_archive(tmp_path / "aclImdb.tar.gz", files)

    with pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, archive)

    assert str(error.value) == (
        "the test split has 0 positive and 0 negative reviews, a classifier needs both "
        "(is test/pos/ or test/neg/ missing, empty or all set aside?). What was read and set aside is kept in "
        f"{kept_summary(tmp_path)}"
    )


def test_a_dataset_with_one_label_stops_the_run_naming_every_split(tmp_path):
    files = {name: data for name, data in GOOD_FILES.items() if "/neg/" not in name}
    root = write_dataset(tmp_path / "aclImdb", files)

    with pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, root)

    assert str(error.value) == (
        "the train split has 1 positive and 0 negative reviews, a classifier needs both "
        "(is train/neg/ missing, empty or all set aside?); "
        "the test split has 1 positive and 0 negative reviews, a classifier needs both "
        "(is test/neg/ missing, empty or all set aside?). What was read and set aside is kept in "
        f"{kept_summary(tmp_path)}"
    )


def test_an_empty_eval_split_stops_the_run(tmp_path):
    # Only movies tt0000001 and tt0000003, which both fall in train at 10 %.
    files = {
        name: data
        for name, data in GOOD_FILES.items()
        if name not in ("train/pos/1_7.txt", "train/neg/1_3.txt")
    }
    root = write_dataset(tmp_path / "aclImdb", files)

    with pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, root)

    assert str(error.value) == (
        "the eval split is empty: eval_percent 10 took no movie of the 3 train reviews; "
        "raise eval_percent or add reviews. What was read and set aside is kept in "
        f"{kept_summary(tmp_path)}"
    )


# --- the warnings name the quarantine that is left ---------------------------------------------------
# TFX's launcher deletes a failed execution's Examples folder: a failed run's warnings name the copy kept
# in failed_runs/<execution id>/quarantine, a passing run's the quarantine inside the Examples artifact.

EXECUTOR_LOGGER = "components.example_gen.executor"


def _warnings(caplog) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == EXECUTOR_LOGGER and record.levelno == logging.WARNING
    ]


def _removed_as_tfx_removes_a_failed_run(tmp_path) -> None:
    shutil.rmtree(examples_dir(tmp_path))


def test_a_run_failing_on_bad_records_warns_naming_the_kept_quarantine(tmp_path, caplog):
    bad = {f"train/pos/{i}_9.txt": b"" for i in range(10, 13)}
    root = write_dataset(tmp_path / "aclImdb", {**GOOD_FILES, **bad, "test/neg/9_1.txt": b"\xff"})

    with caplog.at_level(logging.WARNING, logger=EXECUTOR_LOGGER), pytest.raises(TooManyBadRecordsError):
        run_example_gen(tmp_path, root)

    kept = tmp_path / "failed_runs" / "examples" / "quarantine"
    assert _warnings(caplog) == [
        f"ExampleGen: set aside 4 records in {kept}: empty 3 ({root}/train/pos/10_9.txt, "
        f"{root}/train/pos/11_9.txt, {root}/train/pos/12_9.txt), invalid_utf8 1 ({root}/test/neg/9_1.txt)"
    ]
    _removed_as_tfx_removes_a_failed_run(tmp_path)
    assert sorted(path.name for path in kept.iterdir() if not path.name.startswith("quarantine-")) == [
        "summary.json"
    ]
    assert quarantine.read_summary(str(kept)).counts == {"empty": 3, "invalid_utf8": 1}


def test_a_passing_run_warns_naming_the_quarantine_of_its_examples(tmp_path, caplog):
    files = {name: data for name, data in GOOD_FILES.items() if name != "test/urls_neg.txt"}
    root = write_dataset(tmp_path / "aclImdb", {**files, "train/pos/9_9.txt": b""})

    with caplog.at_level(logging.WARNING, logger=EXECUTOR_LOGGER):
        run_example_gen(tmp_path, root, LENIENT)

    shown = examples_dir(tmp_path) / "quarantine"
    assert _warnings(caplog) == [
        f"ExampleGen: set aside 1 record in {shown}: empty 1 ({root}/train/pos/9_9.txt)",
        f"ExampleGen: 1 review has no movie id (no_urls_line 1: {root}/test/neg/0_2.txt); the train/eval "
        "cut groups each of them by its own text instead of its movie: train 0, eval 0, test 1, unsup 0 "
        f"(see {shown})",
    ]
    assert quarantine.read_summary(str(shown)).counts == {"empty": 1}
    assert not (tmp_path / "failed_runs").exists()


def _without_train_neg(tmp_path) -> Path:
    """A dataset whose train split has no negative review, one empty review file and no test/urls_neg.txt."""
    files = {
        name: data
        for name, data in GOOD_FILES.items()
        if not name.startswith("train/neg") and name != "test/urls_neg.txt"
    }
    return write_dataset(tmp_path / "aclImdb", {**files, "train/pos/9_9.txt": b""})


# Execution ids restart with a new ML Metadata store: failed_runs/<id> may hold an earlier run's copy,
# which a failed run never replaces (it takes <id>.2, <id>.3 ...).
@pytest.mark.parametrize(("taken", "kept_in"), [((), "examples"), (("examples", "examples.2"), "examples.3")])
def test_a_run_failing_on_its_splits_warns_naming_the_kept_quarantine(tmp_path, caplog, taken, kept_in):
    for folder in taken:
        (tmp_path / "failed_runs" / folder).mkdir(parents=True)
        (tmp_path / "failed_runs" / folder / "earlier.txt").write_text(folder)
    root = _without_train_neg(tmp_path)

    with caplog.at_level(logging.WARNING, logger=EXECUTOR_LOGGER), pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, root, LENIENT)

    kept = tmp_path / "failed_runs" / kept_in / "quarantine"
    assert str(error.value) == (
        "the train split has 1 positive and 0 negative reviews, a classifier needs both "
        "(is train/neg/ missing, empty or all set aside?). What was read and set aside is kept in "
        f"{kept}/summary.json"
    )
    assert _warnings(caplog) == [
        f"ExampleGen: set aside 1 record in {kept}: empty 1 ({root}/train/pos/9_9.txt)",
        f"ExampleGen: 1 review has no movie id (no_urls_line 1: {root}/test/neg/0_2.txt); the train/eval "
        "cut groups each of them by its own text instead of its movie: train 0, eval 0, test 1, unsup 0 "
        f"(see {kept})",
    ]
    _removed_as_tfx_removes_a_failed_run(tmp_path)
    assert quarantine.read_summary(str(kept)).counts == {"empty": 1}
    assert sorted(path.name for path in (tmp_path / "failed_runs").iterdir()) == sorted([*taken, kept_in])
    for folder in taken:
        assert [path.name for path in (tmp_path / "failed_runs" / folder).iterdir()] == ["earlier.txt"]


def test_a_quarantine_that_cannot_be_kept_leaves_the_run_failing_on_its_bad_records(tmp_path, caplog):
    (tmp_path / "failed_runs").write_text("not a folder\n")
    bad = {f"train/pos/{i}_9.txt": b"" for i in range(10, 13)}
    root = write_dataset(tmp_path / "aclImdb", {**GOOD_FILES, **bad})

    with (
        caplog.at_level(logging.WARNING, logger=EXECUTOR_LOGGER),
        pytest.raises(TooManyBadRecordsError) as error,
    ):
        run_example_gen(tmp_path, root)

    assert str(error.value) == (
        "too many bad review records: 3 of 11 (27.3%) were set aside, and example_gen.max_bad_share is 0.01. "
        f"By reason: empty 3 ({root}/train/pos/10_9.txt, {root}/train/pos/11_9.txt, "
        f"{root}/train/pos/12_9.txt). The quarantine could not be kept ({tmp_path}/failed_runs is not a "
        "directory): TFX deletes it with the failed run's outputs; fix them and run again, or raise the limit"
    )
    assert _warnings(caplog) == [
        "ExampleGen: set aside 3 records in a quarantine that could not be kept: empty 3 "
        f"({root}/train/pos/10_9.txt, {root}/train/pos/11_9.txt, {root}/train/pos/12_9.txt)"
    ]


def test_a_quarantine_that_cannot_be_kept_leaves_the_run_failing_on_its_splits(tmp_path, caplog):
    (tmp_path / "failed_runs").write_text("not a folder\n")
    root = _without_train_neg(tmp_path)

    with caplog.at_level(logging.WARNING, logger=EXECUTOR_LOGGER), pytest.raises(ImdbDataError) as error:
        run_example_gen(tmp_path, root, LENIENT)

    assert str(error.value) == (
        "the train split has 1 positive and 0 negative reviews, a classifier needs both "
        "(is train/neg/ missing, empty or all set aside?). The quarantine could not be kept "
        f"({tmp_path}/failed_runs is not a directory): TFX deletes it with the failed run's outputs"
    )
    assert _warnings(caplog)[1].endswith("unsup 0 (see a quarantine that could not be kept)")


_NAMED_FOLDER = re.compile(r"ExampleGen: (?:set aside \d+ records? in (.+?): |.* \(see (.+)\)\Z)")


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(
    empty_files=st.integers(0, 3),
    max_bad_records=st.integers(0, 3),
    without_train_neg=st.booleans(),
    without_a_urls_file=st.booleans(),
)
def test_every_warning_names_a_quarantine_that_is_left_after_the_run(
    empty_files, max_bad_records, without_train_neg, without_a_urls_file
):
    files = {
        name: data
        for name, data in GOOD_FILES.items()
        if not (without_train_neg and name.startswith("train/neg"))
        and not (without_a_urls_file and name == "test/urls_neg.txt")
    }
    files.update({f"train/pos/{i}_9.txt": b"" for i in range(10, 10 + empty_files)})
    options = ExampleGenOptions(max_bad_share=1.0, max_bad_records=max_bad_records)
    fails = without_train_neg or empty_files > max_bad_records
    with tempfile.TemporaryDirectory() as directory:
        tmp_path = Path(directory)
        root = write_dataset(tmp_path / "aclImdb", files)
        logger, handler = logging.getLogger(EXECUTOR_LOGGER), _ListHandler()
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)  # whatever an earlier test left on the root logger
        try:
            run_example_gen(tmp_path, root, options)
            failed = False
        except ImdbDataError:
            failed = True
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
        assert failed == fails
        if fails:
            _removed_as_tfx_removes_a_failed_run(tmp_path)
        expected = (tmp_path / "failed_runs" if fails else tmp_path / "run") / "examples" / "quarantine"
        warnings = [message for level, message in handler.messages if level == logging.WARNING]
        assert len(warnings) == bool(empty_files) + without_a_urls_file
        named = [next(filter(None, _NAMED_FOLDER.match(message).groups())) for message in warnings]
        assert named == [str(expected)] * len(warnings)
        assert quarantine.read_summary(str(expected)).set_aside == empty_files


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelno, record.getMessage()))


# --- duplicates and train/test overlap --------------------------------------------------------------

WITH_COPIES = {
    **GOOD_FILES,
    "train/pos/5_8.txt": GOOD_FILES["train/pos/0_9.txt"],  # a duplicate within train
    "train/neg/6_1.txt": GOOD_FILES["test/neg/0_2.txt"],  # a test review, also in train
    "test/pos/7_9.txt": GOOD_FILES["test/pos/0_10.txt"],  # a duplicate within test: kept
}


def test_duplicates_and_train_copies_of_test_reviews_are_set_aside(tmp_path):
    root = write_dataset(tmp_path / "aclImdb", WITH_COPIES)

    # The default 1 % limit does not apply: these are not bad input.
    examples = run_example_gen(tmp_path, root)

    assert split_sources(examples, features.TRAIN) == GOOD_SPLITS[features.TRAIN]
    assert split_sources(examples, features.TEST) == [
        "test/neg/0_2.txt",
        "test/pos/0_10.txt",
        "test/pos/7_9.txt",
    ]
    assert [(line["source"], line["reason"], line["detail"]) for line in quarantine_lines(examples.uri)] == [
        (f"{root}/train/neg/6_1.txt", "in_test_split", f"same text as test review {root}/test/neg/0_2.txt"),
        (f"{root}/train/pos/5_8.txt", "duplicate", f"same text as train review {root}/train/pos/0_9.txt"),
    ]
    assert reason_properties(examples) == {
        "reviews_read": 11,
        "quarantined": 2,
        "quarantined_duplicate": 1,
        "quarantined_in_test_split": 1,
    }


def test_duplicates_and_overlap_are_kept_when_switched_off(tmp_path):
    root = write_dataset(tmp_path / "aclImdb", WITH_COPIES)
    options = ExampleGenOptions(quarantine_duplicates=False, quarantine_test_overlap=False)

    examples = run_example_gen(tmp_path, root, options)

    # Reviews 5_8 and 6_1 have no urls line: their text puts them in train and eval.
    assert split_sources(examples, features.TRAIN) == [*GOOD_SPLITS[features.TRAIN], "train/pos/5_8.txt"]
    assert split_sources(examples, features.EVAL) == [
        "train/neg/1_3.txt",
        "train/neg/6_1.txt",
        "train/pos/1_7.txt",
    ]
    assert quarantine_lines(examples.uri) == []
    assert reason_properties(examples) == {"reviews_read": 11, "quarantined": 0}


def review(source: str, text: str) -> Review:
    split_dir, folder, name = source.split("/")
    review_id, rating = (int(part) for part in name[: -len(".txt")].split("_"))
    return Review(source, split_dir, folder, review_id, rating, text, origin=Origin(f"/d/{source}"))


def judged(reviews: list[Review], **options) -> tuple[list[str], list[tuple[str, str]]]:
    kept, set_aside = [], []
    for item in duplicates.judge_copies(reviews, **options):
        if isinstance(item, Review):
            kept.append(item.source)
        else:
            set_aside.append((item.value.origin.path, item.value.reason))
    return kept, set_aside


def test_judge_copies_keeps_test_and_the_first_train_copy():
    group = [
        review("train/pos/9_9.txt", "x"),
        review("train/neg/3_1.txt", "x"),
        review("train/pos/1_8.txt", "x"),
    ]
    assert judged(group, quarantine_duplicates=True, quarantine_test_overlap=True) == (
        ["train/neg/3_1.txt"],
        [("/d/train/pos/1_8.txt", "duplicate"), ("/d/train/pos/9_9.txt", "duplicate")],
    )
    with_test = [*group, review("test/pos/4_9.txt", "x"), review("test/pos/2_9.txt", "x")]
    assert judged(with_test, quarantine_duplicates=True, quarantine_test_overlap=True) == (
        ["test/pos/2_9.txt", "test/pos/4_9.txt"],
        [
            ("/d/train/neg/3_1.txt", "in_test_split"),
            ("/d/train/pos/1_8.txt", "in_test_split"),
            ("/d/train/pos/9_9.txt", "in_test_split"),
        ],
    )
    assert judged(with_test, quarantine_duplicates=True, quarantine_test_overlap=False) == (
        ["test/pos/2_9.txt", "test/pos/4_9.txt", "train/neg/3_1.txt"],
        [("/d/train/pos/1_8.txt", "duplicate"), ("/d/train/pos/9_9.txt", "duplicate")],
    )


@pytest.mark.slow
def test_full_imdb_archive_has_96_train_duplicates_and_123_test_overlaps():
    """The figures the README and duplicates.py quote, measured on the published archive (about 20 s)."""
    import collections
    import tarfile

    archive = shared_data_file("aclImdb_v1.tar.gz")
    groups: dict[bytes, list[Review]] = collections.defaultdict(list)
    folders: collections.Counter = collections.Counter()
    with tarfile.open(archive, "r|gz") as members:
        for member in members:
            parsed = reader.parse_review_path(member.name) if member.isfile() else None
            if parsed is None:
                continue
            data = members.extractfile(member).read()
            text = reader.check_review_bytes(data, member.size, MAX, member.name)
            folders[f"{parsed.split_dir}/{parsed.folder}"] += 1
            if parsed.folder in reader.LABELS:
                item = Review(
                    parsed.source, parsed.split_dir, parsed.folder, parsed.review_id, parsed.rating, text
                )
                groups[data].append(item)
    reasons: collections.Counter = collections.Counter()
    spanning = 0
    for group in groups.values():
        spanning += {item.split_dir for item in group} == {reader.TRAIN_DIR, reader.TEST_DIR}
        for item in duplicates.judge_copies(group, quarantine_duplicates=True, quarantine_test_overlap=True):
            if not isinstance(item, Review):
                reasons[item.value.reason] += 1
    assert sum(folders.values()) == 100_000
    assert spanning == 123
    assert dict(reasons) == {quarantine.DUPLICATE: 96, quarantine.IN_TEST_SPLIT: 123}


def _bad_records_error(summary: quarantine.IngestSummary, max_review_bytes: int) -> ImdbDataError | None:
    """The error of a run failing on these bad records, its quarantine kept in /q; None within the limits."""
    problem = bad_records_problem(summary, ExampleGenOptions(max_review_bytes=max_review_bytes))
    return executor.failure(problem, "", quarantine.KeptQuarantine("/q")) if problem else None


def test_too_many_too_large_records_name_the_size_limit_as_their_cause():
    summary = quarantine.IngestSummary(
        reviews_read=6,
        counts={quarantine.TOO_LARGE: 3, quarantine.EMPTY: 1},
        samples={quarantine.TOO_LARGE: ("a", "b", "c"), quarantine.EMPTY: ("d",)},
        split_folders={},
    )
    error = _bad_records_error(summary, 2_000)
    assert isinstance(error, TooManyBadRecordsError)
    assert str(error) == (
        "too many bad review records: 4 of 10 (40.0%) were set aside, and example_gen.max_bad_share is 0.01. "
        "By reason: too_large 3 (a, b, c), empty 1 (d). "
        "The too_large ones are larger than example_gen.max_review_bytes (2,000 bytes): raise it to read them. "
        "Every one is in /q/quarantine-*.jsonl with its reason and raw bytes; fix them and run again, or raise "
        "the limit"
    )


@settings(max_examples=60, deadline=None)
@given(
    too_large=st.integers(0, 5),
    other=st.sampled_from(sorted(set(quarantine.BAD_INPUT_REASONS) - {quarantine.TOO_LARGE})),
    others=st.integers(0, 5),
    max_review_bytes=st.integers(1_000, 10**9),
)
def test_the_size_limit_is_named_exactly_when_records_were_too_large(
    too_large, other, others, max_review_bytes
):
    counts = {quarantine.TOO_LARGE: too_large, other: others}
    summary = quarantine.IngestSummary(reviews_read=1, counts=counts, samples={}, split_folders={})
    error = _bad_records_error(summary, max_review_bytes)
    if not too_large + others:
        assert error is None
        return
    assert isinstance(error, TooManyBadRecordsError)
    sentence = (
        f"The too_large ones are larger than example_gen.max_review_bytes ({max_review_bytes:,} bytes): "
        "raise it to read them. "
    )
    assert (sentence in str(error)) == (too_large > 0)
    assert (
        str(error)
        .replace(sentence, "")
        .endswith(
            f"By reason: {summary.describe_reasons(quarantine.BAD_INPUT_REASONS)}. Every one is in "
            "/q/quarantine-*.jsonl with its reason and raw bytes; fix them and run again, or raise the limit"
        )
    )
