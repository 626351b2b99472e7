"""A failed ExampleGen keeps its quarantine in ``failed_runs/<execution id>`` (``.2``, ``.3`` ... when taken):
each failed run gets a folder of its own, runs failing at the same moment too, and nothing is lost.
A failed run keeps it only then, once, and its error names the copy or says why none was kept.
"""

from __future__ import annotations

from collections.abc import Callable
import posixpath
import tempfile
import threading
import time
from unittest import mock
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest
import tensorflow as tf

from components.artifacts import quarantine
from components.artifacts.quarantine import IngestSummary, KeptQuarantine
from components.example_gen import executor, quarantining
from components.example_gen.errors import ImdbDataError
from components.example_gen.options import ExampleGenOptions
from components.example_gen.quarantining import TooManyBadRecordsError
from tests.imdb_files import GOOD_FILES, run_example_gen, write_dataset

EXECUTION_ID = "7"


def _write_quarantine(examples_uri: str, run: str) -> dict[str, bytes]:
    """Writes a quarantine of its own for the run named ``run`` into an Examples folder; returns its files."""
    files = {
        "quarantine-00000-of-00002.jsonl": f'{{"source": "{run}/a.txt"}}\n'.encode(),
        "quarantine-00001-of-00002.jsonl": f'{{"source": "{run}/b.txt"}}\n'.encode(),
        "summary.json": f'{{"run": "{run}"}}'.encode(),
    }
    tf.io.gfile.makedirs(posixpath.join(examples_uri, quarantine.QUARANTINE_DIR))
    for name, data in files.items():
        _write(posixpath.join(examples_uri, quarantine.QUARANTINE_DIR, name), data)
    return files


def _write(path: str, data: bytes) -> bytes:
    with tf.io.gfile.GFile(path, "wb") as file:
        file.write(data)
    return data


def _files(folder: str) -> dict[str, bytes]:
    files = {}
    for name in tf.io.gfile.listdir(folder):
        with tf.io.gfile.GFile(posixpath.join(folder, name), "rb") as file:
            files[name] = file.read()
    return files


def _slow(check: Callable[[str], bool]) -> Callable[[str], bool]:
    def slow_check(path: str) -> bool:
        found = check(path)
        time.sleep(0.02)  # the answer gets older, as on a remote store: a folder may be made meanwhile
        return found

    return slow_check


def _keep_at_once(step_dir: str, runs: int) -> tuple[list[KeptQuarantine], list[dict[str, bytes]]]:
    """``runs`` failed runs of one execution id (each its own Examples folder and quarantine) keep their
    quarantines at the same moment, in threads; what each kept, and the files each had.

    Whether a file exists is answered slowly, so a folder chosen by looking first would be chosen twice.
    """
    uris = [posixpath.join(step_dir, f"examples-{run}", EXECUTION_ID) for run in range(runs)]
    written = [_write_quarantine(uri, f"run {run}") for run, uri in enumerate(uris)]
    start, kept = threading.Barrier(runs), [KeptQuarantine()] * runs

    def keep(run: int) -> None:
        start.wait()
        kept[run] = quarantine.keep_quarantine(uris[run])

    threads = [threading.Thread(target=keep, args=(run,)) for run in range(runs)]
    with mock.patch.object(tf.io.gfile, "exists", _slow(tf.io.gfile.exists)):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return kept, written


def _run_folder(step_dir: str, copy: int) -> str:
    folder = posixpath.join(step_dir, quarantine.FAILED_RUNS_DIR, EXECUTION_ID)
    return folder if copy == 1 else f"{folder}.{copy}"


def test_failed_runs_at_the_same_moment_each_keep_their_own_quarantine(tmp_path):
    kept, written = _keep_at_once(str(tmp_path), 8)

    assert sorted(copy.folder for copy in kept) == sorted(
        f"{_run_folder(str(tmp_path), copy)}/quarantine" for copy in range(1, 9)
    )
    assert [copy.error for copy in kept] == [None] * 8
    # Nothing lost or mixed: each folder holds the whole quarantine of the run that claimed it.
    assert [_files(copy.folder) for copy in kept] == written


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(
    runs=st.integers(1, 5),
    taken=st.dictionaries(st.integers(1, 6), st.sampled_from(["folder", "file"])),
)
def test_failed_runs_at_once_take_the_first_free_folders_and_leave_the_taken_ones(runs, taken):
    with tempfile.TemporaryDirectory() as step_dir:
        tf.io.gfile.makedirs(posixpath.join(step_dir, quarantine.FAILED_RUNS_DIR))
        earlier = {}
        for copy, kind in taken.items():
            path = _run_folder(step_dir, copy)
            if kind == "folder":
                tf.io.gfile.mkdir(path)
                path = posixpath.join(path, "earlier.txt")
            earlier[path] = _write(path, f"earlier {copy}".encode())

        kept, written = _keep_at_once(step_dir, runs)

        free = [copy for copy in range(1, runs + len(taken) + 1) if copy not in taken][:runs]
        assert sorted(copy.folder for copy in kept) == sorted(
            f"{_run_folder(step_dir, copy)}/quarantine" for copy in free
        )
        assert [_files(copy.folder) for copy in kept] == written
        for path, data in earlier.items():
            assert tf.io.gfile.GFile(path, "rb").read() == data
        assert len(tf.io.gfile.listdir(posixpath.join(step_dir, quarantine.FAILED_RUNS_DIR))) == runs + len(
            taken
        )


def test_a_remote_file_system_keeps_the_quarantine_beside_the_taken_folders():
    """ram:// stands in for gs://: tf.io.gfile's mkdir does not fail on an existing folder, so a folder
    found there is skipped before one is made."""
    step_dir = f"ram://kept-{uuid.uuid4().hex}/FileBasedExampleGen"
    tf.io.gfile.makedirs(_run_folder(step_dir, 1))
    _write(_run_folder(step_dir, 2), b"earlier")
    uri = posixpath.join(step_dir, "examples", EXECUTION_ID)
    written = _write_quarantine(uri, "remote")

    kept = quarantine.keep_quarantine(uri)

    assert kept == KeptQuarantine(f"{step_dir}/failed_runs/7.3/quarantine")
    assert _files(kept.folder) == written
    for taken in ("7/quarantine", "7.2/quarantine"):
        assert not tf.io.gfile.exists(f"{step_dir}/failed_runs/{taken}")
    assert tf.io.gfile.GFile(_run_folder(step_dir, 2), "rb").read() == b"earlier"


def test_a_quarantine_that_cannot_be_copied_says_why(tmp_path):
    (tmp_path / quarantine.FAILED_RUNS_DIR).write_text("not a folder\n")
    uri = str(tmp_path / "examples" / EXECUTION_ID)
    _write_quarantine(uri, "run")

    kept = quarantine.keep_quarantine(uri)

    assert (kept.folder, type(kept.error), str(kept.error)) == (
        None,
        tf.errors.FailedPreconditionError,
        f"{tmp_path}/failed_runs is not a directory",
    )


# --- the sentences that name it ------------------------------------------------------------------------


def test_a_failure_of_the_splits_names_the_summary_kept_or_why_none_was():
    kept, lost = KeptQuarantine("out/failed_runs/7/quarantine"), KeptQuarantine(error=OSError("disk full"))

    assert [str(executor.failure("", "the eval split is empty", place)) for place in (kept, lost)] == [
        "the eval split is empty. What was read and set aside is kept in out/failed_runs/7/quarantine/summary.json",
        "the eval split is empty. The quarantine could not be kept (disk full): TFX deletes it with the failed "
        "run's outputs",
    ]


_SUMMARY = IngestSummary(9, {"empty": 1}, {"empty": ("a.txt",)}, {})


@pytest.mark.parametrize(
    ("kept", "where"),
    [
        (
            KeptQuarantine("f/7/quarantine"),
            "Every one is in f/7/quarantine/quarantine-*.jsonl with its reason and raw bytes",
        ),
        (
            KeptQuarantine(error=OSError("disk full")),
            "The quarantine could not be kept (disk full): TFX deletes it with the failed run's outputs",
        ),
    ],
)
def test_too_many_bad_records_name_the_quarantine_kept_before_the_splits(kept, where):
    problem = quarantining.bad_records_problem(_SUMMARY, ExampleGenOptions(max_bad_records=0))

    error = executor.failure(problem, "the eval split is empty", kept)

    assert isinstance(error, TooManyBadRecordsError)
    assert str(error) == (
        "too many bad review records: 1 of 10 (10.0%) were set aside, and example_gen.max_bad_records is 0 "
        f"and example_gen.max_bad_share is 0.01. By reason: empty 1 (a.txt). {where}; fix them and run "
        "again, or raise the limit"
    )


def test_splits_that_fail_name_the_quarantine_kept():
    folders = {"train": {"pos": 2, "neg": 1}, "eval": {"pos": 1}, "test": {"pos": 1}}

    error = executor.failure(
        "", executor.split_problems(folders, 10), KeptQuarantine(error=OSError("disk full"))
    )

    assert type(error) is ImdbDataError
    assert str(error) == (
        "the test split has 1 positive and 0 negative reviews, a classifier needs both (is test/neg/ "
        "missing, empty or all set aside?). The quarantine could not be kept (disk full): TFX deletes it "
        "with the failed run's outputs"
    )


def test_a_failure_without_a_problem_is_refused():
    """Its message would have started with ". What was read"."""
    with pytest.raises(ValueError) as error:
        executor.failure("", "", KeptQuarantine("/q"))
    assert str(error.value) == "failure() needs the bad records' problem or the splits'"


def test_checks_that_pass_say_nothing():
    folders = {split: {"pos": 1, "neg": 1} for split in ("train", "eval", "test")}

    assert quarantining.bad_records_problem(_SUMMARY, ExampleGenOptions(max_bad_share=0.1)) == ""
    assert executor.split_problems(folders, 10) == ""


def test_a_failed_run_copies_its_quarantine_once(tmp_path, monkeypatch):
    calls = []

    def keep(examples_uri: str) -> KeptQuarantine:
        calls.append(examples_uri)
        return KeptQuarantine(error=OSError("disk full"))

    monkeypatch.setattr(quarantine, "keep_quarantine", keep)
    files = {name: data for name, data in GOOD_FILES.items() if not name.startswith("train/neg")}
    root = write_dataset(tmp_path / "aclImdb", {**files, "train/pos/9_9.txt": b""})

    with pytest.raises(TooManyBadRecordsError) as error:
        run_example_gen(tmp_path, root, ExampleGenOptions(max_bad_records=0, max_bad_share=1.0))

    assert str(error.value).endswith(
        "The quarantine could not be kept (disk full): TFX deletes it with the failed run's outputs; fix them "
        "and run again, or raise the limit"
    )
    assert calls == [str(tmp_path / "run" / "examples")]
