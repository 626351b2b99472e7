"""Hostile-user cases (pass 30a, branch land-30): each test states what a usage error, the output pre-flight or
the drift section must do, which the code did not do when the pass found it (a full file system the unnamed-file
probe calls writable, a dangling link as the output, score's --output - and --input /dev/stdin, a repeated flag's
values run together, report's suggestion after --, ``python -m pipeline.cli``, an earlier span called absent).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import os
from pathlib import Path
import shlex
import shutil
import subprocess
import sys

from hypothesis import example, given
from hypothesis import strategies as st
import pytest

from components.artifacts.quarantine import shown_name
from pipeline import cli, preflight

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# 1. The output probe (O_TMPFILE) and a full file system
# --------------------------------------------------------------------------------------------


@pytest.fixture
def full_ext4(tmp_path):
    """A mounted 4 MB ext4 file system without one free block (root, mkfs.ext4 and a loop device needed)."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None or shutil.which("mount") is None:
        pytest.skip("needs root, mkfs.ext4 and mount")
    image, mountpoint = tmp_path / "fs.img", tmp_path / "full"
    mountpoint.mkdir()
    with open(image, "wb") as file:
        file.truncate(4 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-m", "0", str(image)], check=True, capture_output=True)
    if subprocess.run(["mount", "-o", "loop", str(image), str(mountpoint)], capture_output=True).returncode:
        pytest.skip("cannot mount a loop device here")
    try:
        try:
            with open(mountpoint / "fill", "wb") as file:
                while True:
                    file.write(b"\0" * 4096)
                    file.flush()
                    os.fsync(file.fileno())
        except OSError:
            pass
        for number in range(10_000):  # the last blocks: one folder each
            try:
                os.mkdir(mountpoint / f"d{number}")
            except OSError:
                break
        with pytest.raises(OSError) as made:
            os.mkdir(mountpoint / "probe")
        if made.value.errno != errno.ENOSPC:
            pytest.skip(f"the file system did not fill up: {made.value}")
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], capture_output=True)


def test_a_full_file_system_is_not_a_writable_output(full_ext4):
    """``imdb-pipeline run --dry-run --output FULL/out`` on an ext4 with no free block.

    Observed: exit 0 (the probe at 6b237c0, a folder made and removed, said ENOSPC); a real run fails in the
    lock's makedirs, and ``score --output FULL/sc`` runs the job, then ``FAILED: RuntimeError: OSError: [Errno
    28] No space left on device`` (exit 1).
    Expected: the pre-flight refuses it (exit 2), ``... is not writable (No space left on device)``.
    """
    problem = preflight.cannot_write_in(str(full_ext4))
    assert problem is not None and problem.errno == errno.ENOSPC
    assert preflight._unwritable(str(full_ext4 / "out")) is not None


# --------------------------------------------------------------------------------------------
# 2. A dangling symbolic link as the output
# --------------------------------------------------------------------------------------------


def test_run_preflight_refuses_a_dangling_link_as_the_output(tmp_path):
    """``ln -s /nonexistent/x out; imdb-pipeline run --output out``.

    Observed: ``--dry-run`` exits 0; the run: ``imdb-pipeline run: FAILED: FileExistsError: [Errno 17] File
    exists: 'out'`` (exit 1, from the lock's ``os.makedirs``).
    Expected: exit 2 before anything runs, naming the link and where it points.
    """
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "nonexistent" / "x")
    problem = preflight._unwritable(str(link))
    assert problem is not None and str(link) in problem


def test_score_refuses_a_dangling_link_as_the_output(tmp_path):
    """``imdb-pipeline score --model M --input in.txt --output LINK`` (LINK -> a path that does not exist).

    Observed: the job runs and fails: ``FAILED: RuntimeError: OSError: [Errno 2] No such file or directory:
    'LINK/beam-temp-predictions-...'`` (exit 1).
    Expected: refused before the job (exit 2), as a file or a non-empty folder is.
    """
    from pipeline import score

    link = tmp_path / "sc"
    link.symlink_to(tmp_path / "nonexistent" / "x")
    with pytest.raises((score.OutputExistsError, score.ScoreInputError)):
        score.check_output(str(link))


# --------------------------------------------------------------------------------------------
# 3. score: standard input and standard output by another name
# --------------------------------------------------------------------------------------------


def test_score_output_dash_is_a_usage_error(tmp_path, monkeypatch, capsys):
    """``imdb-pipeline score --model M --input in.txt --output -``.

    Observed: ``scored 2 reviews of in.txt with ...: -`` (exit 0), the results in a new folder ``./-``.
    Expected: as for ``--input -``: a usage error (exit 2) saying score writes a folder, not standard output
    (``./-`` for a folder named -).
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("a good film\n")
    code = cli.main(["score", "--model", str(tmp_path / "model"), "--input", "in.txt", "--output", "-"])
    assert code == 2
    assert "standard output" in capsys.readouterr().err
    assert not (tmp_path / "-").exists()


def test_score_input_that_is_a_pipe_is_refused_before_the_job():
    """``printf 'nice\\n' | imdb-pipeline score --model M --input /dev/stdin --output sc``.

    Observed: ``FAILED: BeamIOError: Empty match for pattern /proc/15875/fd/pipe:[[]1647937]. Disallowed.``
    (exit 1): the link is resolved to the pipe's name, which is no file.
    Expected: a usage error (exit 2) as for ``--input -``: standard input / a pipe is not read by score
    (imdb-pipeline predict reads it).
    """
    from pipeline import score

    read, write = os.pipe()
    try:
        os.write(write, b"nice\n")
        os.close(write)
        with pytest.raises(score.ScoreInputError):
            score.resolve_input(f"/proc/self/fd/{read}", "auto")
    finally:
        os.close(read)


# --------------------------------------------------------------------------------------------
# 4. Repeated flags: every value, told apart
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "shown"),
    [(["", ""], "('', '')"), (["a, b", "c"], "('a, b', c)")],
)
def test_a_repeated_flag_names_each_value_so_they_can_be_told_apart(values, shown, capsys):
    """``imdb-pipeline report --output '' --output ''`` and ``report --output 'a, b' --output c``.

    Observed: ``--output was given 2 times (, ): give one folder`` and ``--output was given 2 times (a, b,
    c)``.
    Expected: each value shown so that its ends are visible (quoted where a shell would need it), two
    values for two times.
    """
    argv = ["report"]
    for value in values:
        argv += ["--output", value]
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert shown in capsys.readouterr().err


def test_report_after_double_dash_does_not_suggest_the_same_option(capsys):
    """``imdb-pipeline report --output a -- --output b``.

    Observed: ``error: unrecognized arguments: --, --output (did you mean --output?), b`` (exit 2).
    Expected: after ``--`` every word is an unexpected argument, as score says it; no suggestion of the
    option that was given.
    """
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", "--output", "a", "--", "--output", "b"])
    assert exited.value.code == 2
    assert "did you mean --output?" not in capsys.readouterr().err


# A value a shell would need quoted: empty, with the list's ", ", quotes, spaces, line breaks, bytes that are
# not UTF-8 (surrogate escapes), and any other character but NUL (no argument holds one).
_ANY_VALUE = st.text(
    st.characters(blacklist_characters="\x00") | st.sampled_from([",", " ", "'", '"', "\\", "\n", "\udcff"]),
    max_size=8,
)


@given(values=st.lists(_ANY_VALUE, min_size=2, max_size=4))
@example(values=["", "--"])
@example(values=["a", "--", "b"])
def test_a_repeated_flags_values_split_back_into_exactly_the_values_given(values):
    """The list a repeated flag's message shows, read as a shell reads words (each but the last ends with
    the list's comma), is the values given: as many, each whole, in their order (bytes that are not UTF-8
    as every message shows them, ``\\xff``)."""
    with contextlib.redirect_stderr(io.StringIO()) as stderr, pytest.raises(SystemExit) as exited:
        cli.main(["report", *[f"--run={value}" for value in values]])
    assert exited.value.code == 2
    if "--" in values:  # argparse would drop it: refused before the count (tests/test_cli_double_dash.py)
        assert stderr.getvalue().splitlines()[-1] == (
            "imdb-pipeline report: error: argument --run: a value of '--' cannot be given (--run=--): argparse "
            "reads '--' as the end of the options"  # a run id: no path to write as ./--
        )
        return
    head, tail = f"imdb-pipeline report: error: --run was given {len(values)} times (", "): give one run id\n"
    shown = stderr.getvalue().split(head, 1)[1]
    assert shown.endswith(tail)
    words = shlex.split(shown.removesuffix(tail))
    assert all(word.endswith(",") for word in words[:-1])
    assert [word[:-1] for word in words[:-1]] + words[-1:] == [shown_name(value) for value in values]


def test_a_repeated_config_names_each_file_as_a_shell_would_need_it(tmp_path, monkeypatch, capsys):
    """``run --config 'my run.yaml' --config b.yaml``: was ``(my run.yaml, b.yaml)``."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "--dry-run", "--config", "my run.yaml", "--config=b.yaml"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "imdb-pipeline run: error: --config was given 2 times ('my run.yaml', b.yaml): give one file; flags "
        "override its values (see imdb-pipeline run --help)"
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # Was ``('\\udcff', b)``, Python's name for the byte.
        (["--run", "\udcff", "--run", "b"], "--run was given 2 times ('\\xff', b): give one run id"),
        # Was ``unrecognized arguments: a, b,``: two words read as three.
        (["--run", "r", "a, b", ""], "unrecognized arguments: 'a, b', ''"),
    ],
)
def test_report_names_a_word_as_a_shell_would_need_it_and_bytes_as_every_message_does(capsys, argv, expected):
    with pytest.raises(SystemExit) as exited:
        cli.main(["report", *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"imdb-pipeline report: error: {expected}"


# Each command's required flags, to reach the check of what follows `--`.
_REQUIRED = {
    "run": ["--dry-run"],
    "compile": ["--output-file", "p.yaml", "--image", "img"],
    "score": ["--model", "m", "--input", "in.txt", "--output", "sc"],
    "report": [],
}


def _commands_without_words() -> list[str]:
    """The commands that take no word after ``--`` (predict and neighbors take their texts there)."""
    return sorted(
        command
        for command, command_parser in cli._commands(cli.build_parser()).items()
        if all(action.option_strings for action in command_parser._actions)
    )


def test_the_commands_without_words_are_the_four_without_texts():
    assert _commands_without_words() == sorted(_REQUIRED)
    parser = cli.build_parser()
    assert parser.parse_known_args(["predict", "--model", "m", "--", "--output", "b"])[0].texts == [
        "--output",
        "b",
    ]
    assert parser.parse_known_args(["neighbors", "--model", "m", "--", "--k", "b"])[0].words == ["--k", "b"]


@pytest.mark.parametrize("command", _commands_without_words())
def test_after_double_dash_every_word_is_an_argument_for_every_command_without_words(
    tmp_path, monkeypatch, capsys, command
):
    """``imdb-pipeline COMMAND ... -- --output b``: no command suggests the option given after ``--``."""
    monkeypatch.chdir(tmp_path)
    try:
        code = cli.main([command, *_REQUIRED[command], "--", "--output", "b"])
    except SystemExit as exited:  # argparse's own error exits from inside
        code = exited.code
    assert code == 2
    if command == "report":
        expected = (
            "unrecognized arguments: --, --output, b (after --, every word is an argument: "
            "imdb-pipeline report takes none)"
        )
    else:
        expected = (
            "unexpected argument '--'; unexpected argument '--output'; unexpected argument 'b'; options that "
            f"are not imdb-pipeline {command}'s go to Apache Beam only if Beam knows them (see "
            f"imdb-pipeline {command} --help)"
        )
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"imdb-pipeline {command}: error: {expected}"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# 5. python -m pipeline.cli
# --------------------------------------------------------------------------------------------


def test_python_m_pipeline_cli_runs_the_command(tmp_path):
    """``python -m pipeline.cli run --output out`` (the module ``imdb-pipeline=pipeline.cli:main`` names).

    Observed: no output, exit 0, nothing run: a script or CI job takes it for a successful run.
    Expected: the command runs (here: an unknown option, exit 2), as ``python -m pipeline`` does.
    """
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "report", "--no-such-option"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        "imdb-pipeline report: error: unrecognized arguments: --no-such-option"
    )


# --------------------------------------------------------------------------------------------
# 6. Drift: an earlier span handed over but not compared
# --------------------------------------------------------------------------------------------


def test_the_drift_section_does_not_call_an_uncompared_earlier_span_absent():
    """DriftCheck handed the statistics of a span this run reads (the portable resolver): drift.json has
    ``baseline_span: null`` and ``not_compared: [span 2 and span 2 not compared: ... is span 2, not before
    span 2]``.

    Observed: ``<p>Span 2 (no earlier span: train against test only).</p>`` then ``Not compared: span 2 and
    span 2 not compared: ...``: the page says there was no earlier span and that one was not compared.
    Expected: no "no earlier span" when the not-compared list holds a whole span.
    """
    from components.artifacts.drift_anomalies import DRIFT, DriftFindings, NotCompared
    from components.report import render
    from tests.test_report import _small_report

    report = _small_report()
    entry = NotCompared(DRIFT, None, "span 2", "span 2 and span 2", "/stats/8 is span 2, not before span 2")
    drift = DriftFindings([], 2, None, 2, None, [entry])
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert "Not compared" in text
    assert "no earlier span" not in text


# --------------------------------------------------------------------------------------------
# 7. The probe's messages: why, and no "No such file or directory" for a folder that exists
# --------------------------------------------------------------------------------------------


def test_run_preflight_says_why_the_output_cannot_be_written():
    """``imdb-pipeline run --dry-run --output /sys/out`` (also a read-only mount, a tmpfs without a free
    inode).

    Observed: ``output: cannot write to /sys/out: /sys is not writable (the nearest existing folder)``, the same
    words for EROFS, ENOSPC and EACCES; ``score --output /sys/sc`` says ``(Operation not permitted)``.
    Expected: the reason, as score gives it.
    """
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys")
    error = preflight.cannot_write_in("/sys")
    assert error is not None
    problem = preflight._unwritable("/sys/out")
    assert problem is not None and error.strerror in problem


def test_the_probe_does_not_say_an_existing_folder_does_not_exist():
    """``imdb-pipeline score --model M --input in.txt --output /proc/sc``.

    Observed: ``--output /proc/sc cannot be made: /proc is not a writable folder (No such file or
    directory)`` (also ``/proc/self``).
    Expected: a reason that fits a folder that exists (the unnamed file's ``Operation not supported``, or
    ``Permission denied``).
    """
    error = preflight.cannot_write_in("/proc")
    assert error is not None
    assert error.errno != errno.ENOENT
