"""What a command may not lose unnoticed: a standard output it cannot write is one line naming it (not a
traceback, nor an "Exception ignored" at exit), a repeated path, run id, name or expression
(``--input a --input b``) is refused rather than all but the last silently dropped, and score, which
reads files, refuses standard input."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import shlex
import subprocess
import sys
import textwrap

from hypothesis import given
from hypothesis import strategies as st
import pytest

from components.artifacts.quarantine import shown_name
from pipeline import cli
from pipeline.commands import common
from tests.conftest import CLI
from tests.test_hostile_robustness import _save_tiny_model
from tests.test_neighbors import _push

# --------------------------------------------------------------------------------------------
# A standard output that cannot be written
# --------------------------------------------------------------------------------------------

_FULL = "cannot write to standard output: No space left on device"


def _command(name: str, tmp_path) -> list[str]:
    """The arguments of a command that prints, with what it needs made in ``tmp_path``."""
    if name == "predict":
        return [
            "predict",
            "--model",
            str(_save_tiny_model(tmp_path / "model" / "1", scale=1.0)),
            "a good film",
        ]
    if name == "score":
        (tmp_path / "reviews.txt").write_text("a great film\nawful\n")
        model = _save_tiny_model(tmp_path / "model" / "1", scale=1.0)
        return ["score", "--model", str(model), "--input", "reviews.txt", "--output", "scored"]
    if name == "neighbors":
        return [
            "neighbors",
            "--model",
            str(_push(tmp_path / "serving" / "imdb_sentiment", 100).parent),
            "great",
        ]
    if name == "compile":
        return [
            "compile", "--output-file", "pipeline.yaml", "--image", "example.com/imdb:1",
            "--data", "gs://bucket/aclImdb", "--output", "gs://bucket/output",
        ]  # fmt: skip
    if name == "run --dry-run":
        return ["run", "--dry-run", "--output", str(tmp_path / "out")]
    return name.split()


@pytest.mark.parametrize(
    ("command", "buffered"),
    [
        ("--help", True),
        ("--help", False),
        ("run --help", True),
        ("run --help", False),
        ("predict", True),
        ("predict", False),
        ("run --dry-run", True),
        ("neighbors", True),
        ("compile", True),
        ("score", True),
    ],
)
def test_every_command_that_prints_says_in_one_line_that_standard_output_is_full(tmp_path, command, buffered):
    """``imdb-pipeline <command> ... > /dev/full``, with Python's standard output buffered (its write
    fails at the interpreter's exit: "Exception ignored", exit code 120) or not (PYTHONUNBUFFERED: a
    traceback; argparse swallows the error of --help's write: exit code 0, nothing printed)."""
    args = _command(command, tmp_path)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [CLI, *args], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, timeout=300, env=env
        )

    prog = "imdb-pipeline" if args[0].startswith("-") else f"imdb-pipeline {args[0]}"
    assert (result.returncode, result.stderr) == (1, f"{prog}: {_FULL}\n")
    if command == "score":  # the job's work is done; its summary line is what was lost
        assert (tmp_path / "scored" / "summary.json").is_file()
    if command == "compile":
        assert (tmp_path / "pipeline.yaml").is_file()


def test_an_os_error_that_is_not_standard_outputs_keeps_its_traceback(tmp_path):
    """A disk full elsewhere (a command's own file) is not said to be standard output's."""
    script = textwrap.dedent(
        """
        import errno, sys
        from pipeline import cli
        from pipeline.commands import neighbors

        def fail(args):
            raise OSError(errno.ENOSPC, "No space left on device", "elsewhere.npy")

        neighbors.main = fail
        sys.argv = ["imdb-pipeline", "neighbors", "--model", "m", "great"]
        sys.exit(cli.main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )

    assert result.returncode == 1
    assert result.stderr.startswith("Traceback")
    assert result.stderr.splitlines()[-1] == "OSError: [Errno 28] No space left on device: 'elsewhere.npy'"
    assert _FULL not in result.stderr


@contextlib.contextmanager
def _standard_output(stream: io.TextIOWrapper):
    """``sys.stdout`` is ``stream`` made by name_stdout_errors, then the test's own again."""
    saved = sys.stdout
    sys.stdout = stream
    try:
        yield common.name_stdout_errors()
    finally:
        sys.stdout = saved


def _text_stream(path, unbuffered: bool) -> io.TextIOWrapper:
    """A text stream as Python makes standard output (``python -u``: over the raw file, written through)."""
    raw = io.FileIO(path, "w")
    return io.TextIOWrapper(
        raw if unbuffered else io.BufferedWriter(raw),
        encoding="utf-8",
        errors="surrogateescape",
        newline="\n",
        write_through=unbuffered,
    )


@given(pieces=st.lists(st.text(), max_size=5), unbuffered=st.booleans())
def test_the_named_standard_output_writes_the_bytes_the_original_would(tmp_path_factory, pieces, unbuffered):
    folder = tmp_path_factory.mktemp("stdout")
    original, named = (
        _text_stream(folder / "original", unbuffered),
        _text_stream(folder / "named", unbuffered),
    )
    with original, named:
        with _standard_output(named) as file:
            assert sys.stdout is not named
            for piece in pieces:
                print(piece, end="|\n")
                print(piece, end="|\n", file=original)
            common.flush_stdout(file)
        assert file.error is None
    assert (folder / "named").read_bytes() == (folder / "original").read_bytes()


@pytest.mark.parametrize("size", [10, 100_000], ids=["buffered", "larger than the buffer"])
def test_a_write_error_of_standard_output_is_a_stdout_error_even_when_a_library_swallowed_it(size):
    with open("/dev/full", "w") as full, _standard_output(full) as file:
        with contextlib.suppress(OSError):  # as argparse's help does
            sys.stdout.write("x" * size)
        with pytest.raises(common.StdoutError) as raised:
            common.flush_stdout(file)
        assert (raised.value.errno, raised.value.strerror) == (errno.ENOSPC, "No space left on device")
        os.dup2(os.open(os.devnull, os.O_WRONLY), full.fileno())  # what it still holds goes nowhere


def test_a_reader_that_went_away_stays_a_broken_pipe(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w") as pipe, _standard_output(pipe) as file:
        with pytest.raises(BrokenPipeError):
            sys.stdout.write("x" * 100_000)
        assert file.error is None
        os.dup2(os.open(os.devnull, os.O_WRONLY), pipe.fileno())


# --------------------------------------------------------------------------------------------
# A path, run id, name or expression given more than once
# --------------------------------------------------------------------------------------------

# Each command's flags that may be given once (with what to give one of), and its other required arguments.
_ONCE = {
    "predict": ({"--model": "model", "--input": "file"}, {"--model": "m"}, []),
    "score": (
        {"--model": "model", "--input": "file or folder", "--output": "folder"},
        {"--model": "m", "--input": "i", "--output": "o"},
        [],
    ),
    "neighbors": ({"--model": "model"}, {"--model": "m"}, ["great"]),
    "report": (
        {"--output": "folder", "--reports": "folder", "--run": "run id", "--pipeline-name": "pipeline name"},
        {},
        [],
    ),
    "compile": (
        {"--output-file": "file", "--image": "image", "--schedule": "cron expression"},
        {"--output-file": "f.yaml", "--image": "i"},
        [],
    ),
}
_VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(
    lambda value: not value.startswith("-")  # an option to argparse
)


@given(data=st.data())
def test_a_flag_that_may_be_given_once_is_refused_when_repeated_naming_every_value(data):
    """Before: argparse kept the last (``predict --input a --input b`` scored b alone, exit 0)."""
    command = data.draw(st.sampled_from(sorted(_ONCE)))
    once, required, positional = _ONCE[command]
    flag = data.draw(st.sampled_from(sorted(once)))
    values = data.draw(st.lists(_VALUES, min_size=1, max_size=4))
    others = [word for name, value in required.items() if name != flag for word in (name, value)]
    argv = [command, *others, *[word for value in values for word in (flag, value)], *positional]

    if len(values) == 1:
        parser = cli.build_parser()
        args, _ = parser.parse_known_args(argv)
        common.one_value_each(cli._commands(parser)[command], args)  # no usage error
        assert getattr(args, flag.removeprefix("--").replace("-", "_")) == values[0]
        return
    with contextlib.redirect_stderr(io.StringIO()) as stderr, pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    # The last line after the usage text: each value shown as a name is (a line break as \n), then quoted.
    assert stderr.getvalue().endswith(
        f"\nimdb-pipeline {command}: error: {flag} was given {len(values)} times "
        f"({', '.join(shlex.quote(shown_name(value)) for value in values)}): "
        f"give one {once[flag]}\n"
    )


def test_a_repeated_flag_in_its_equals_form_is_refused_too(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["score", "--model=m", "--input=a", "--output", "o", "--input=-b", "--input", ""])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "imdb-pipeline score: error: --input was given 3 times (a, -b, ''): give one file or folder"
    )


def test_the_flags_given_once_are_every_command_flag_that_names_a_path_an_id_a_name_or_an_expression():
    """The other flags keep argparse's last of repeated values: a choice, a number or a switch drops
    nothing the user wrote (and ``run``'s and ``compile``'s configuration flags override a config file)."""
    parser = cli.build_parser()
    declared = {
        command: {
            action.option_strings[0]: action.what
            for action in cli._commands(parser)[command]._actions
            if isinstance(action, common.Once)
        }
        for command in cli._commands(parser)
    }
    assert declared == {"run": {}, **{command: once for command, (once, _, _) in _ONCE.items()}}


@pytest.mark.parametrize(
    ("command", "flag"), [(command, flag) for command, (once, _, _) in _ONCE.items() for flag in once]
)
def test_each_flag_given_twice_is_a_usage_error_naming_both_values(capsys, command, flag):
    """Before, for report and compile: the last was kept (``report --run a --run b`` rendered b alone)."""
    once, required, positional = _ONCE[command]
    others = [word for name, value in required.items() if name != flag for word in (name, value)]
    with pytest.raises(SystemExit) as exited:
        cli.main([command, *others, flag, "a b", flag, "gs://c/d", *positional])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"imdb-pipeline {command}: error: {flag} was given 2 times ('a b', gs://c/d): give one {once[flag]}"
    )


# --------------------------------------------------------------------------------------------
# score and standard input
# --------------------------------------------------------------------------------------------


def test_score_refuses_standard_input_and_names_predict_which_reads_it(capsys):
    """Before: ``--input - does not exist`` (score read ./-), after TensorFlow's import."""
    assert cli.main(["score", "--model", "m", "--input", "-", "--output", "o"]) == 2
    assert capsys.readouterr() == (
        "",
        "imdb-pipeline score: --input - is standard input, which score does not read: give a file or folder "
        "(./- for a file named -); imdb-pipeline predict reads reviews from standard input (--input - or a "
        "lone -)\n",
    )


def test_a_file_named_dash_is_read_as_dot_slash_dash(tmp_path, monkeypatch):
    from pipeline import score

    (tmp_path / "-").write_text("a great film\n")
    monkeypatch.chdir(tmp_path)
    read = os.path.realpath(tmp_path / "-")
    assert score.resolve_input("./-") == score.ScoreInput("auto", read, (read, "./-"))
