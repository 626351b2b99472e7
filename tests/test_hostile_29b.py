"""Hostile-user cases (pass 29b): each test states a behaviour README.md promises, or that a usage
error must have, which the code did not keep when the pass found it (a closed standard output, a standard output
that cannot encode the review, an --output that pre-flight lets through, a repeated option after --).
"""

from __future__ import annotations

import os
from pathlib import Path
import subprocess

import pytest

from tests.conftest import CLI
from tests.test_hostile_robustness import _save_tiny_model


def _cli(
    *args: str, cwd: Path, env: dict | None = None, close_stdout: bool = False
) -> subprocess.CompletedProcess:
    """Runs the console script; with ``close_stdout`` its standard output is closed (``>&-``)."""
    command = ["sh", "-c", 'exec "$@" >&-', "sh", CLI, *args] if close_stdout else [CLI, *args]
    return subprocess.run(
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
        errors="replace",
        text=True,
        env={**os.environ, **(env or {})},
    )


# --------------------------------------------------------------------------------------------
# 1. A closed standard output (>&-), one that cannot encode the review
# --------------------------------------------------------------------------------------------


def test_predict_with_a_closed_standard_output_says_so_in_one_line(tmp_path):
    """``imdb-pipeline predict --model M "a good film" >&-``.

    Observed: a traceback ending ``AttributeError: 'NoneType' object has no attribute 'write'``, exit 1.
    Expected: one line ``imdb-pipeline predict: cannot write to standard output: Bad file descriptor``,
    exit 1 (README: "whatever it was printing").
    """
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)
    result = _cli("predict", "--model", str(model), "a good film", cwd=tmp_path, close_stdout=True)

    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "imdb-pipeline predict: cannot write to standard output: Bad file descriptor"
    ]
    assert result.returncode == 1


@pytest.mark.parametrize(
    "args",
    [["run", "--dry-run", "--output", "out"], ["compile", "--output-file", "p.yaml", "--image", "img"]],
)
def test_a_closed_standard_output_is_not_a_silent_success(tmp_path, args):
    """``imdb-pipeline run --dry-run --output out >&-``, ``imdb-pipeline compile --output-file p.yaml
    --image img >&-`` (``neighbors``, ``report`` and ``score`` the same).

    Observed: exit 0, nothing on stderr: the output went nowhere and the caller is told it was printed.
    Expected: ``imdb-pipeline <command>: cannot write to standard output: Bad file descriptor``, exit 1.
    """
    result = _cli(*args, cwd=tmp_path, close_stdout=True)

    assert result.stderr.strip().splitlines() == [
        f"imdb-pipeline {args[0]}: cannot write to standard output: Bad file descriptor"
    ]
    assert result.returncode == 1


@pytest.mark.parametrize("args", [["--help"], ["run", "-h"]])
def test_help_with_a_closed_standard_output_is_one_line_exit_1(tmp_path, args):
    """``imdb-pipeline --help >&-``, ``imdb-pipeline run -h >&-``.

    Observed: argparse, finding no sys.stdout, writes the whole help to stderr and exits 0.
    Expected: as for ``> /dev/full``: one line ``imdb-pipeline[ run]: cannot write to standard output:
    Bad file descriptor``, exit 1.
    """
    result = _cli(*args, cwd=tmp_path, close_stdout=True)

    prog = "imdb-pipeline run" if args[0] == "run" else "imdb-pipeline"
    assert result.stderr.strip().splitlines() == [
        f"{prog}: cannot write to standard output: Bad file descriptor"
    ]
    assert result.returncode == 1


@pytest.mark.parametrize("output_format", ["tsv", "jsonl"])
def test_predict_to_a_latin_1_standard_output_is_not_a_traceback(tmp_path, output_format):
    """``PYTHONIOENCODING=latin-1 imdb-pipeline predict --model M "très bon 😀"`` (``ascii`` and
    ``--format jsonl`` the same; ``LC_ALL=C`` holds, as Python then coerces the locale to UTF-8).

    Observed: a traceback ending ``UnicodeEncodeError: 'latin-1' codec can't encode character
    '\\U0001f600'``, exit 1.
    Expected: never a traceback: the result (its text in UTF-8, as a TSV/JSON Lines consumer reads it),
    or one line ``imdb-pipeline predict: cannot write to standard output: ...`` with exit 1.
    """
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)
    result = _cli(
        "predict",
        "--model",
        str(model),
        "--format",
        output_format,
        "très bon 😀",
        cwd=tmp_path,
        env={"PYTHONIOENCODING": "latin-1"},
    )

    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("imdb-pipeline predict: cannot write to standard output: ")
    else:
        assert result.returncode == 0
        assert "très bon 😀" in result.stdout


# --------------------------------------------------------------------------------------------
# 2. An option given twice, the second after --
# --------------------------------------------------------------------------------------------


def test_score_output_repeated_after_double_dash_is_not_suggested_as_itself(tmp_path):
    """``imdb-pipeline score --model M --input a.txt --output s1 -- --output s2``.

    Observed (exit 2): ``unknown option --; unknown option --output (did you mean --output?); ...``: the
    suggestion is the option the user gave.
    Expected: exit 2, nothing written, and no suggestion of an option for itself (score takes no
    positional arguments, so -- ends nothing: ``--output`` is given twice, or ``--`` is refused alone).
    """
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)
    (tmp_path / "a.txt").write_text("good\n")
    result = _cli(
        "score",
        "--model",
        str(model),
        "--input",
        "a.txt",
        "--output",
        "s1",
        "--",
        "--output",
        "s2",
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert "did you mean --output?" not in result.stderr
    assert not (tmp_path / "s1").exists() and not (tmp_path / "s2").exists()


# --------------------------------------------------------------------------------------------
# 5. --output that pre-flight must refuse (exit 2, naming the option, nothing created)
# --------------------------------------------------------------------------------------------

_LONG_NAME = "x" * 300


def test_run_output_with_a_too_long_name_is_a_configuration_error(tmp_path):
    """``imdb-pipeline run --dry-run --output xxx...(300 bytes)/out``.

    Observed: a traceback from preflight._unwritable (``Path.exists``) ending ``OSError: [Errno 36] File
    name too long``, exit 1.
    Expected: exit 2, one line ``imdb-pipeline run: configuration error: output: cannot create
    <absolute path>/xxx.../out: File name too long`` (the output is made absolute, as in the other
    output messages), nothing created.
    """
    output = f"{_LONG_NAME}/out"
    result = _cli("run", "--dry-run", "--output", output, cwd=tmp_path)

    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"imdb-pipeline run: configuration error: output: cannot create {tmp_path / output}: File name too long"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("loopA/out", "{t}/loopA is a symbolic link in a loop: {t}/loopA -> {t}/loopB -> {t}/loopA"),
        (
            "via/sub",
            "{t}/via is a symbolic link that leads into a loop: {t}/via -> {t}/loopA/x, which goes through "
            "{t}/loopA -> {t}/loopB -> {t}/loopA",
        ),
    ],
)
def test_run_output_through_a_symlink_loop_is_refused_by_preflight(tmp_path, output, problem):
    """``ln -s loopB loopA; ln -s loopA loopB; imdb-pipeline run --dry-run --output loopA/out``.

    Observed: the dry run says nothing and exits 0 (pathlib's exists() is False for ELOOP, so the
    nearest existing folder is taken to be the current one); a real run fails at its first step,
    exit 1, ``FAILED: OSError: [Errno 40] Too many levels of symbolic links``.
    Expected: exit 2 from pre-flight: ``imdb-pipeline run: configuration error: output: cannot create
    <absolute path>/loopA/out: <absolute path>/loopA is a symbolic link in a loop: .../loopA -> .../loopB ->
    .../loopA`` (the link named, land-30). A link into the loop (``ln -s loopA/x via``, ``--output via/sub``)
    was said to point at a path that does not exist: it leads into the loop, which is shown.
    """
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    (tmp_path / "via").symlink_to("loopA/x")
    result = _cli("run", "--dry-run", "--output", output, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"imdb-pipeline run: configuration error: output: cannot create {tmp_path / output}: "
        + problem.format(t=tmp_path)
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["loopA", "loopB", "via"]


@pytest.mark.parametrize("output", ["loopA/out", f"{_LONG_NAME}/out"])
def test_score_output_that_cannot_be_made_is_refused_before_beam(tmp_path, output):
    """``imdb-pipeline score --model M --input a.txt --output loopA/out`` (a symlink loop), or an
    --output with a name over 255 bytes.

    Observed: the Beam job starts and fails in WriteImpl/InitializeWrite, exit 1, ``imdb-pipeline
    score: FAILED: RuntimeError: OSError: [Errno 40] Too many levels of symbolic links: ...`` (``[Errno
    36] File name too long``).
    Expected: exit 2 before any scoring, one line naming ``--output`` (as ``--output /proc/x`` and
    ``--output fifo/out`` are refused: ``imdb-pipeline score: --output ... cannot be made: ...``).
    """
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)
    (tmp_path / "a.txt").write_text("good\n")
    result = _cli("score", "--model", str(model), "--input", "a.txt", "--output", output, cwd=tmp_path)

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"imdb-pipeline score: --output {output} cannot be made: ")
