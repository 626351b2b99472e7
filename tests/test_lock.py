"""One run at a time per output directory; a crashed run does not leave the lock stuck; the shared file lock."""

import errno
import os
import re
import socket
import threading

from fasteners import process_lock
import pytest

from components.file_lock import LockHeldError, current_holder, exclusive_lock
from pipeline import runner
from pipeline.config import build_config
from pipeline.lock import LOCK_FILE, RunInProgressError, run_lock
from tests.conftest import lock_held_in_subprocess, run_cli


def test_a_second_run_fails_at_once_naming_the_holder_and_a_killed_holder_frees_the_lock(tmp_path):
    with (
        lock_held_in_subprocess("pipeline.lock", "run_lock", str(tmp_path)) as holder,
        pytest.raises(
            RunInProgressError,
            match=rf"another run is in progress on {tmp_path} \(pid {holder.pid}, started ",
        ),
        run_lock(str(tmp_path)),
    ):
        pass
    with run_lock(str(tmp_path)):
        pass  # the kernel released the killed process's lock


def test_a_run_started_while_another_holds_the_output_exits_3_naming_the_holder(tmp_path):
    with lock_held_in_subprocess("pipeline.lock", "run_lock", str(tmp_path)) as holder:
        result = run_cli("run", "--output", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 3, result.stderr[-3000:]
    assert re.search(
        rf"^imdb-pipeline run: another run is in progress on {re.escape(str(tmp_path))} \(pid {holder.pid}, "
        r"started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\); wait for it to finish or use another --output$",
        result.stderr,
        flags=re.M,
    )
    assert sorted(os.listdir(tmp_path)) == [LOCK_FILE]  # nothing else was written


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(ValueError), run_lock(str(tmp_path)):
        raise ValueError("step failed")
    with run_lock(str(tmp_path)):
        pass


# --- the shared lock (components.file_lock): also the Pusher's push lock ---------------------------------


def test_a_second_holder_in_the_same_process_is_refused_naming_the_first(tmp_path):
    path = str(tmp_path / "x.lock")
    with exclusive_lock(path):
        with pytest.raises(LockHeldError) as error, exclusive_lock(path):
            pass
        assert (error.value.path, str(error.value)) == (path, f"{path} is held by {error.value.holder}")
        assert re.fullmatch(
            rf"pid {os.getpid()}, started \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", error.value.holder
        )
    with exclusive_lock(path):
        pass  # released at the end of the block


def test_a_removed_lock_file_is_gone_after_the_block_and_the_lock_is_free(tmp_path):
    path = tmp_path / "x.lock"
    with exclusive_lock(str(path), remove=True):
        assert path.read_text().startswith(f"pid {os.getpid()}, started ")
    assert not path.exists()
    with exclusive_lock(str(path), remove=True):
        pass


def test_a_lock_taken_on_a_file_removed_meanwhile_is_taken_again_on_the_new_file(tmp_path, monkeypatch):
    """The race that removing lock files brings: this process opened the file just before
    its previous holder removed it; locking that orphan would let a third process lock the
    new file at the same path at the same time."""
    path = tmp_path / "x.lock"
    opened = []
    real_open = open

    def open_then_the_previous_holder_removes_it(name, mode):
        handle = real_open(name, mode)
        opened.append(os.fstat(handle.fileno()).st_ino)
        if len(opened) == 1:
            os.unlink(name)
        return handle

    monkeypatch.setattr(process_lock, "open", open_then_the_previous_holder_removes_it, raising=False)
    with exclusive_lock(str(path), remove=True):
        assert len(opened) == 2
        assert os.stat(path).st_ino == opened[1]
        assert path.read_text().startswith(f"pid {os.getpid()}, ")


def test_run_in_progress_is_a_held_lock_with_the_run_lock_message(tmp_path):
    with run_lock(str(tmp_path)), pytest.raises(RunInProgressError) as error, run_lock(str(tmp_path)):
        pass
    assert isinstance(error.value, LockHeldError)
    assert error.value.path == str(tmp_path / LOCK_FILE)
    assert str(error.value) == (
        f"another run is in progress on {tmp_path} ({error.value.holder}); wait for it to finish or use another --output"
    )


def test_the_current_holder_of_a_lock_file_is_none_when_free_or_absent_and_names_a_holder(tmp_path):
    path = str(tmp_path / "x.lock")
    assert current_holder(path) is None
    assert os.listdir(tmp_path) == []  # nothing created
    with exclusive_lock(path):
        held_here = current_holder(path)
        assert re.fullmatch(rf"pid {os.getpid()}, started \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", held_here)
        assert current_holder(path) == held_here  # asking did not release this process's lock
    assert current_holder(path) is None  # the file is left, the lock free
    with lock_held_in_subprocess("components.file_lock", "exclusive_lock", path) as holder:
        assert re.fullmatch(rf"pid {holder.pid}, started \S+", current_holder(path))
    assert current_holder(path) is None


def test_a_dry_run_says_in_one_line_that_another_run_holds_the_output_and_exits_0(tmp_path):
    """The run itself refuses to start (exit 3); the dry run did not say so."""
    output = tmp_path / "out"
    with lock_held_in_subprocess("pipeline.lock", "run_lock", str(output)) as holder:
        result = run_cli("run", "--output", str(output), "--dry-run", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(
        rf"another run is in progress on {re.escape(str(output))} \(pid {holder.pid}, started "
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00\): a run would refuse to start \(exit code 3\) until it ends",
        result.stdout.splitlines()[-1],
    )
    assert sorted(os.listdir(output)) == [LOCK_FILE]
    result = run_cli("run", "--output", str(output), "--dry-run", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "another run" not in result.stdout


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_run_lock_that_is_a_folder_is_refused_before_any_step_naming_it(tmp_path, dry_run):
    """It failed with exit 1 and IsADirectoryError when the run took its lock."""
    output = tmp_path / "out"
    (output / LOCK_FILE).mkdir(parents=True)
    result = run_cli("run", "--output", str(output), *dry_run, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: output: the run lock {output / LOCK_FILE} is a folder, not a "
        "file; nothing was run: remove or rename it (a run creates the file)"
    )
    assert sorted(os.listdir(output)) == [LOCK_FILE]


def test_a_run_lock_that_is_a_fifo_is_refused_by_the_dry_run_without_waiting(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    os.mkfifo(output / LOCK_FILE)
    result = run_cli("run", "--output", str(output), "--dry-run", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines()[-1] == (
        f"imdb-pipeline run: configuration error: output: the run lock {output / LOCK_FILE} is a FIFO, not a "
        "file; nothing was run: remove or rename it (a run creates the file)"
    )


def _fifo(path):
    os.mkfifo(path)


def _socket(path):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))


@pytest.mark.parametrize(
    ("make", "strerror"),
    [(os.mkdir, "not a regular file"), (_fifo, "not a regular file"), (_socket, "No such device or address")],
    ids=["folder", "fifo", "socket"],
)
def test_the_current_holder_of_what_is_no_lock_file_is_an_error_at_once_naming_it(tmp_path, make, strerror):
    """Called directly on a FIFO, it waited for a writer for ever; a folder was said to have no holder."""
    path = tmp_path / "x.lock"
    make(path)
    raised = []

    def ask() -> None:
        with pytest.raises(OSError) as error:
            current_holder(str(path))
        raised.append((error.value.strerror, error.value.filename))

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    asking.join(timeout=30)
    assert (asking.is_alive(), raised) == (False, [(strerror, str(path))])


def test_a_dry_run_says_when_the_run_lock_cannot_be_read_and_whose_output_it_is(tmp_path, monkeypatch):
    """It said nothing, as if no run held the output."""
    output = tmp_path / "out"
    lock = str(output / LOCK_FILE)

    def unreadable(output_dir):
        assert output_dir == str(output)
        raise PermissionError(errno.EACCES, "Permission denied", lock)

    monkeypatch.setattr(runner, "run_lock_holder", unreadable)
    plan = runner.describe_plan(build_config({"output": str(output)}))
    assert plan.splitlines()[-1] == (
        f"whether another run is in progress on {output} is not known: its run lock {lock} cannot be read "
        "(Permission denied)"
    )
