"""Ctrl-C (SIGINT) and SIGTERM as a terminal, a scheduler or ``timeout`` send them, to real runs.

Every command a signal stops ends with one line (``interrupted``, exit 130; ``terminated``, exit
143), after the same cleanup, wherever the signal landed: a library that drops or re-wraps the
KeyboardInterrupt, Beam's worker processes that get Ctrl-C too, a second signal during cleanup.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import signal
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest

from pipeline import interrupts, run_records
from pipeline.run_records import STOPPED_BY_PROPERTY
from tests.conftest import CLI

_INTERRUPTED = 130
_TERMINATED = 143


def _as_from_a_shell(own_group: bool = False):
    """SIGINT's default action back (pytest-xdist's workers ignore it, and a child inherits that);
    with ``own_group``, a process group of its own, as a terminal's foreground job has."""

    def setup() -> None:
        if own_group:
            os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return setup


def _start(args: list[str], cwd: Path, own_group: bool = False) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=cwd,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        errors="replace",
        preexec_fn=_as_from_a_shell(own_group),
    )


def _wait_for_folder(process: subprocess.Popen, folder: Path, seconds: float = 300) -> None:
    """Until the job made ``folder`` (score prints nothing while it runs)."""
    deadline = time.monotonic() + seconds
    while not folder.is_dir():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{folder} never made"
        time.sleep(0.05)


def _outcomes(out: Path) -> list[str]:
    """How each run into ``out`` ended, newest first."""
    store = run_records.open_store(str(out / "metadata.sqlite"))
    return [run.outcome for run in run_records.list_runs(store)]


def _stop_score(
    args: list[str], scored: Path, signals: list[int], group: bool = False
) -> tuple[int, list[str]]:
    """Exit code and stderr lines of ``score`` sent ``signals`` once its job made the output folder
    (to its whole process group with ``group``)."""
    job = _start(args, cwd=scored.parent, own_group=group)
    _wait_for_folder(job, scored)
    for signum in signals:
        if group:
            os.killpg(job.pid, signum)
        else:
            job.send_signal(signum)
    _, stderr = job.communicate(timeout=300)
    return job.returncode, stderr.strip().splitlines()


# --- a signal as soon as the command starts -----------------------------------------------------------


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler for ``signum`` (Linux's /proc; Python's own is SIGINT's only)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    [caught] = [line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")]
    return bool(int(caught, 16) >> (signum - 1) & 1)


def test_datetime_is_imported_before_the_signal_handlers_are_installed():
    """pydantic-core imports datetime's C API lazily and panics (a Rust backtrace on stderr, seen once in
    the test below at 0.1 s) when a signal interrupts that import: it must be imported before main()."""
    code = "import sys, pipeline.cli; print('datetime' in sys.modules, 'pydantic_core' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["True", "False"]


@pytest.mark.parametrize(
    ("signum", "delay"),
    [(signal.SIGINT, delay) for delay in (0, 0.05, 0.1, 0.2, 0.3)] + [(signal.SIGTERM, 0)],
)
def test_a_signal_while_the_command_line_is_parsed_says_interrupted_in_one_line(tmp_path, signum, delay):
    """Ctrl-C in the first 0.3 s, while the parsers' modules were imported (outside main's try), printed
    an Interrupt traceback, exit 1. Sent once the command handles signals, then ``delay`` s later."""
    run = _start([CLI, "run", "--dry-run", "--output", str(tmp_path / "out")], cwd=tmp_path)
    while not _catches(run.pid, signal.SIGTERM):
        assert run.poll() is None, run.communicate()
        time.sleep(0.005)
    time.sleep(delay)
    run.send_signal(signum)
    _, stderr = run.communicate(timeout=300)
    word = interrupts.WORDS[signum]
    assert (run.returncode, stderr.strip().splitlines()) == (
        {signal.SIGINT: _INTERRUPTED, signal.SIGTERM: _TERMINATED}[signum],
        [f"imdb-pipeline run: {word}"],
    ), stderr


# --- a KeyboardInterrupt that a library drops or re-wraps ------------------------------------------

# TensorFlow's SavedModel loader, as measured: the signal lands in a finalizer (AtomicFunction.__del__:
# Python prints and drops the KeyboardInterrupt, the load goes on) or while pybind11 builds a C++ error
# (a RuntimeError, which the loader reported as a damaged model, exit 2).
_LOADER = {
    "dropped_in_a_finalizer": """
        class Finalized:
            def __del__(self):
                signal.raise_signal(signal.SIGINT)
        Finalized()
        self.version_dir = model_dir
        for _ in range(10**8):  # the work goes on, until the signal is raised again
            pass
        """,
    "rewrapped_by_pybind11": """
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            pass  # pybind11: "MISMATCH of original and normalized active exception types"
        raise predict.ModelLoadError(f"{model_dir}: the SavedModel cannot be loaded (truncated or damaged?)")
        """,
}


def _score_loading_with(tmp_path: Path, load: str, before: str = "") -> tuple[int, str, list[str]]:
    """Exit code, stdout and stderr lines of ``score`` whose model loader is ``load`` (the body of
    ``Classifier.__init__(self, model_dir)``), after ``before`` ran in its process."""
    (tmp_path / "model").mkdir()
    (tmp_path / "reviews.txt").write_text("a wonderful, moving masterpiece\n", encoding="utf-8")
    script = "\n".join(
        [
            "import atexit, os, signal, sys, threading",
            "from pipeline import cli, predict",
            textwrap.dedent(before),
            "def load(self, model_dir):",
            textwrap.indent(textwrap.dedent(load), "    "),
            "predict.Classifier.__init__ = load",
            'sys.argv[0] = "imdb-pipeline"',
            "sys.exit(cli.main())",
        ]
    )
    args = ["score", "--model", "model", "--input", "reviews.txt", "--output", "scored"]
    process = _start([sys.executable, "-c", script, *args], cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr.strip().splitlines()


@pytest.mark.parametrize("how", sorted(_LOADER))
def test_ctrl_c_while_score_loads_the_model_says_interrupted_whatever_the_loader_made_of_it(tmp_path, how):
    """Was exit 0 after a printed traceback (dropped), or exit 2 "cannot be loaded" (re-wrapped)."""
    code, _, lines = _score_loading_with(tmp_path, _LOADER[how])
    assert (code, lines) == (_INTERRUPTED, ["imdb-pipeline score: interrupted"])
    assert not (tmp_path / "scored").exists()


# --- the atexit hooks, which ending the process with os._exit would skip -----------------------------

# Registered after the one that prints (atexit runs the newest first), each in its own case.
_HOOKS = {
    "raises": "raise RuntimeError('a hook that fails')",
    "hangs": "threading.Event().wait()",
    # As from a terminal or a scheduler: to the process (raise_signal would send it to the hook's thread).
    "gets_a_second_signal": "os.kill(os.getpid(), signal.SIGINT); threading.Event().wait()",
}


@pytest.mark.parametrize("hook", sorted(_HOOKS))
def test_after_sigterm_the_atexit_hooks_run_and_none_keeps_the_process(tmp_path, hook):
    """os._exit after a signal skipped every atexit hook (TensorFlow autograph's removal of its temporary
    files). A hook that raises is passed over, one that hangs is left (after the wait, here 1 s; at once
    after a further signal), and the command still ends with its one line and the first signal's code."""
    before = f"""
        atexit.register(print, "hook ran")
        def hook():
            {_HOOKS[hook]}
        atexit.register(hook)
        cli.ATEXIT_SECONDS = {3600 if hook == "gets_a_second_signal" else 1}
        """
    code, stdout, lines = _score_loading_with(tmp_path, "signal.raise_signal(signal.SIGTERM)", before)
    assert (code, lines) == (_TERMINATED, ["imdb-pipeline score: terminated"])
    # The hook that prints runs after the others: unless one of them keeps the hooks' thread.
    assert stdout.splitlines() == (["hook ran"] if hook == "raises" else []), stdout


# --- real runs: run, then score ---------------------------------------------------------------------


def test_sigterm_and_ctrl_c_stop_run_and_score_with_one_line_and_the_next_one_works(tmp_path):
    """SIGTERM killed the process where it was (exit -15): score's partial output stayed and the next
    score refused the folder. A run's stopped step was logged as "failed ... KeyboardInterrupt" and left
    RUNNING in ML Metadata. Ctrl-C of score with two worker processes printed their tracebacks."""
    out = tmp_path / "out"
    run = _start([CLI, "run", "--output", str(out)], cwd=tmp_path)
    seen = []
    for line in run.stderr:
        seen.append(line)
        if "Step 5/14 Transform: start" in line:
            break
    run.send_signal(signal.SIGTERM)
    rest = run.stderr.read()
    assert run.wait(timeout=300) == _TERMINATED, "".join(seen) + rest
    lines = rest.strip().splitlines()
    assert lines[-1] == "imdb-pipeline run: terminated", rest
    assert [line.split(" ", 2)[2].split(" after ")[0] for line in lines if "Step 5/14" in line] == [
        "Step 5/14 Transform: terminated"
    ], rest
    assert "failed" not in rest and "Traceback" not in rest, rest
    store = run_records.open_store(str(out / "metadata.sqlite"))
    stopped = [e for e in store.get_executions() if STOPPED_BY_PROPERTY in e.custom_properties]
    assert [(e.last_known_state, e.custom_properties[STOPPED_BY_PROPERTY].string_value) for e in stopped] == [
        (stopped[0].CANCELED, "terminated")
    ]
    assert [run.outcome for run in run_records.list_runs(store)] == ["terminated"]
    # The next run on the same output works, and gives the model to score with.
    rerun = subprocess.run(
        [CLI, "run", "--output", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=1800
    )
    assert rerun.returncode == 0, rerun.stderr
    assert _outcomes(out) == ["complete", "terminated"]
    reviews = tmp_path / "reviews.txt"
    reviews.write_text(
        "".join(f"review {i}: a wonderful, moving film\n" for i in range(3000)), encoding="utf-8"
    )
    scored = tmp_path / "scored"
    score = [CLI, "score", "--model", str(out / "serving" / "imdb_sentiment"), "--input", str(reviews)]
    score += ["--output", str(scored)]

    # Ctrl-C in a terminal reaches the whole foreground process group: Beam's workers too.
    workers = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    assert _stop_score([*score, *workers], scored, [signal.SIGINT], group=True) == (
        _INTERRUPTED,
        ["imdb-pipeline score: interrupted"],
    )
    assert not scored.exists()
    assert _stop_score(score, scored, [signal.SIGTERM]) == (_TERMINATED, ["imdb-pipeline score: terminated"])
    assert not scored.exists()
    # Two signals at once: the second comes during the first one's cleanup (or with it: the process
    # takes pending signals lowest number first), which must not be cut short.
    code, lines = _stop_score(score, scored, [signal.SIGTERM, signal.SIGINT])
    assert (code, lines) in (
        (_INTERRUPTED, ["imdb-pipeline score: interrupted"]),
        (_TERMINATED, ["imdb-pipeline score: terminated"]),
    ), lines
    assert not scored.exists()
    again = subprocess.run(score, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("scored 3,000 reviews of "), again.stdout


@pytest.mark.slow
def test_ctrl_c_before_beams_worker_processes_start_stops_score_with_one_line(pushed_run, tmp_path):
    """A Beam worker process that started just after a Ctrl-C to the process group (a CPU under load)
    never got it and waited for work, and score waited for it: for ever. Here every worker starts so
    (the first to start sends the Ctrl-C, once)."""
    late_workers = """
        import os, threading, time
        from apache_beam.runners.portability import local_job_service
        from pipeline import interrupts

        start = local_job_service.SubprocessSdkWorker.run
        first = threading.Lock()

        def after_ctrl_c(self):
            if first.acquire(blocking=False):
                os.killpg(0, signal.SIGINT)
            while interrupts.received() is None:
                time.sleep(0.01)
            start(self)

        local_job_service.SubprocessSdkWorker.run = after_ctrl_c
    """
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("review 1: a wonderful, moving film\n", encoding="utf-8")
    scored = tmp_path / "scored"
    model = pushed_run[0] / "serving" / "imdb_sentiment"
    args = ["score", "--model", str(model), "--input", str(reviews), "--output", str(scored)]
    args += ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    job = _start([*_cli_with(late_workers), *args], cwd=tmp_path, own_group=True)
    try:
        _, stderr = job.communicate(timeout=300)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the group is gone: nothing left to stop
            os.killpg(job.pid, signal.SIGKILL)
    assert (job.returncode, stderr.strip().splitlines()) == (
        _INTERRUPTED,
        ["imdb-pipeline score: interrupted"],
    )
    assert not scored.exists()


# --- children_killed_after_signal, in this process ---------------------------------------------------------


@contextlib.contextmanager
def _with_a_child() -> Iterator[tuple[subprocess.Popen, psutil.Process]]:
    """A shell started now and the sleep it started (its child), (shell, sleep), both killed after the block."""
    shell = subprocess.Popen(["sh", "-c", "sleep 120 & wait"])
    try:
        deadline = time.monotonic() + 30
        while not psutil.Process(shell.pid).children():
            assert time.monotonic() < deadline, "the shell started no sleep"
            time.sleep(0.01)
        [sleep] = psutil.Process(shell.pid).children()
        try:
            yield shell, sleep
        finally:
            with contextlib.suppress(psutil.NoSuchProcess):  # killed by the test
                sleep.kill()
    finally:
        shell.kill()
        shell.wait()


def _signal_now(monkeypatch) -> None:
    """Ctrl-C as the handler that interrupts.install sets takes it (this test's own: reset after it)."""
    monkeypatch.setattr(interrupts, "_received", None)
    with contextlib.suppress(interrupts.Interrupt):
        interrupts._handle(signal.SIGINT, None)


def _exit_codes(*processes) -> list[int | str | None]:
    """How each process ended, waited for up to 10 s: its exit code (psutil's None for one that is not this
    process's child), or ``running``."""
    codes = []
    for process in processes:
        try:
            codes.append(psutil.Process(process.pid).wait(timeout=10))
        except psutil.TimeoutExpired:
            codes.append("running")
    return codes


def test_a_block_ended_after_a_signal_kills_the_processes_it_started_at_once_and_no_older_one(monkeypatch):
    with _with_a_child() as (older, older_child), contextlib.ExitStack() as after_the_block:
        with interrupts.children_killed_after_signal(seconds=600):
            new, new_child = after_the_block.enter_context(_with_a_child())
            _signal_now(monkeypatch)
            assert new.poll() is None  # within the 600 s: still running
        assert _exit_codes(new, new_child) == [-signal.SIGKILL, None]  # the sleeps: killed, or 120 s
        assert (older.poll(), older_child.is_running()) == (None, True)


def test_a_block_still_running_after_a_signal_kills_the_processes_it_started_after_the_grace(monkeypatch):
    with _with_a_child() as (older, older_child), interrupts.children_killed_after_signal(seconds=0.5):
        with _with_a_child() as (new, new_child):
            _signal_now(monkeypatch)
            assert new.poll() is None
            assert _exit_codes(new, new_child) == [-signal.SIGKILL, None]
        assert (older.poll(), older_child.is_running()) == (None, True)  # also the older one's child


def test_a_block_ended_without_a_signal_kills_nothing_and_leaves_no_thread(monkeypatch):
    monkeypatch.setattr(interrupts, "_received", None)
    with contextlib.ExitStack() as after_the_block:
        with interrupts.children_killed_after_signal(seconds=0):
            new, new_child = after_the_block.enter_context(_with_a_child())
        time.sleep(0.2)
        assert (new.poll(), new_child.is_running()) == (None, True)
        assert "children-killer" not in [thread.name for thread in threading.enumerate()]
        assert interrupts._on_signal == set()


def test_a_block_whose_processes_cannot_be_listed_after_a_signal_ends_as_it_would(monkeypatch):
    """psutil's error (/proc unreadable) reached the watching thread and the block's end."""
    with contextlib.ExitStack() as after_the_block:
        with pytest.raises(interrupts.Interrupt), interrupts.children_killed_after_signal(seconds=0):
            new, new_child = after_the_block.enter_context(_with_a_child())
            monkeypatch.setattr(psutil.Process, "children", _access_denied)
            _signal_now(monkeypatch)
            time.sleep(0.2)  # the watching thread met the error
            raise interrupts.Interrupt()
        monkeypatch.undo()
        assert (new.poll(), new_child.is_running()) == (None, True)  # not killed: they could not be listed


def _access_denied(self, recursive=False):
    raise psutil.AccessDenied(self.pid)


def test_the_command_line_starts_without_psutil():
    """It is imported by the first block that needs it: ~13 ms more before the signal handlers."""
    code = "import sys, pipeline.cli; print('psutil' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]


def _cli_with(patch: str) -> list[str]:
    """The command line (its arguments to follow) of ``imdb-pipeline`` in a process where ``patch`` ran first."""
    script = "\n".join(
        [
            "import signal, sys",
            "from pipeline import cli",
            textwrap.dedent(patch),
            'sys.argv[0] = "imdb-pipeline"',
            "sys.exit(cli.main())",
        ]
    )
    return [sys.executable, "-c", script]


def _run_with(tmp_path: Path, patch: str) -> tuple[subprocess.Popen, str, str]:
    """A real run of the bundled sample, in a process where ``patch`` ran first; (process, stdout, stderr)."""
    run = _start([*_cli_with(patch), "run", "--output", str(tmp_path / "out")], cwd=tmp_path)
    stdout, stderr = run.communicate(timeout=1800)
    return run, stdout, stderr


def test_a_run_stopped_after_its_push_says_what_it_pushed(tmp_path):
    """SIGTERM while the report (the step after the push) was written: "terminated", exit 143, and not a
    word of the model the run had pushed and that is now served."""
    patch = """
        from components.report import executor

        def report(self, *args):
            signal.raise_signal(signal.SIGTERM)
        executor.Executor.Do = report
        """
    run, stdout, stderr = _run_with(tmp_path, patch)
    out = tmp_path / "out"
    assert run.returncode == _TERMINATED, stderr
    [pushed] = (out / "serving" / "imdb_sentiment").iterdir()
    assert stderr.strip().splitlines()[-2:] == [
        f"imdb-pipeline run: pushed to {pushed} before the run was terminated",
        "imdb-pipeline run: terminated",
    ], stderr
    assert stdout == ""
    assert _outcomes(out) == ["terminated"]


def test_ctrl_c_that_tensorflow_turns_into_an_error_in_transform_is_recorded_interrupted(tmp_path):
    """Ctrl-C while tf.Transform built its graph landed in a pybind11 call of TensorFlow, which made
    it a RuntimeError: TFX published the Transform step FAILED, and the run index said "failed"."""
    patch = """
        from components.transform import preprocessing

        def preprocessing_fn(inputs, options):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass  # as pybind11 does, raising instead:
            raise RuntimeError("MISMATCH of original and normalized active exception types")
        preprocessing.preprocessing_fn = preprocessing_fn
        """
    run, _, stderr = _run_with(tmp_path, patch)
    assert run.returncode == _INTERRUPTED, stderr
    lines = stderr.strip().splitlines()
    assert lines[-1] == "imdb-pipeline run: interrupted", stderr
    assert [line.split(" ", 2)[2].split(" after ")[0] for line in lines if "Step 5/14" in line] == [
        "Step 5/14 Transform: start",
        "Step 5/14 Transform: interrupted",
    ], stderr
    store = run_records.open_store(str(tmp_path / "out" / "metadata.sqlite"))
    [run_record] = run_records.list_runs(store)
    assert (run_record.outcome, run_record.states[-1]) == ("interrupted", ("Transform", "CANCELED"))
    assert run_record.step_properties["Transform"][STOPPED_BY_PROPERTY] == "interrupted"


def test_a_second_signal_during_cleanup_is_recorded_and_one_outside_it_stops_again():
    """The first signal decides the word and code; cleanup (an except, finally or __exit__ handling it,
    or a shielded block) runs whole; a signal once the cleanup is over stops the work again."""
    script = textwrap.dedent(
        """
        import signal
        from pipeline import interrupts

        interrupts.install()
        said = []
        try:
            signal.raise_signal(signal.SIGTERM)
        except KeyboardInterrupt:
            signal.raise_signal(signal.SIGINT)  # in the except: recorded only
            said.append("cleaned up")
        with interrupts.shielded():
            signal.raise_signal(signal.SIGINT)
            said.append("shielded")
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            said.append("stopped again")
        print(*said, interrupts.received(), interrupts.stopped_word(), sep=",")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_as_from_a_shell(),
    )
    assert result.stdout.strip() == f"cleaned up,shielded,stopped again,{int(signal.SIGTERM)},terminated", (
        result.stderr
    )


def test_after_a_signal_the_stderr_filter_does_not_wait_for_a_process_that_outlives_the_command(monkeypatch):
    """Found by a hostile user: score with two Beam worker processes, SIGTERM to the main process only,
    hung 10 minutes in the filter's join while a surviving worker held the pipe's write end open."""
    from pipeline import interrupts, predict

    with predict.stderr_without_startup_noise():
        survivor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # inherits fd 2
        monkeypatch.setattr(interrupts, "_received", signal.SIGTERM)
    try:
        # The block ended while the process holding the pipe still runs: the filter did not wait for it.
        assert survivor.poll() is None
    finally:
        survivor.kill()
        survivor.wait()
