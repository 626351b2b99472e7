"""An empty value (``--input=``, ``--data "$UNSET"``) of a flag that takes a path or a name is a usage error
saying that it is empty, for every such flag of every command; an unknown or empty ``--runner`` is a usage
error naming the runners Apache Beam knows, before any work."""

from __future__ import annotations

import contextlib
import io

from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.runners.runner import _RUNNER_MAP, create_runner
from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from pipeline import cli
from pipeline.commands import common

_COMMANDS = cli._commands(cli.build_parser())
# Every option, of every command, that takes a path or a name: given once (a path, an id, a name or an
# expression), or shown as a path or a name in the help (``--output PATH``, ``--pipeline-name NAME``).
_TEXT_OPTIONS = sorted(
    (command, action.option_strings[0])
    for command, parser in _COMMANDS.items()
    for action in parser._actions
    if isinstance(action, common.Once) or action.metavar in (*common.PATH_METAVARS, common.NAME_METAVAR)
)


def _argv(command: str, option: str, value: str) -> list[str]:
    """``command`` with ``option`` given ``value`` and its other required arguments."""
    parser = _COMMANDS[command]
    required = [
        f"{action.option_strings[0]}=x.yaml"  # compile's --output-file names a YAML or JSON file
        for action in parser._actions
        if action.required and action.option_strings and action.option_strings[0] != option
    ]
    words = ["w" for action in parser._actions if not action.option_strings and action.nargs == "+"]
    return [command, *required, f"{option}={value}", *words]


def _last_error_line(argv: list[str]) -> tuple[int, str]:
    with contextlib.redirect_stderr(io.StringIO()) as stderr:
        try:
            code = cli.main(argv)
        except SystemExit as exited:
            code = exited.code
    return code, stderr.getvalue().splitlines()[-1]


def test_the_text_options_are_the_paths_and_names_of_every_command():
    assert _TEXT_OPTIONS == [
        ("compile", "--config"),
        ("compile", "--data"),
        ("compile", "--image"),
        ("compile", "--model-name"),
        ("compile", "--output"),
        ("compile", "--output-file"),
        ("compile", "--pipeline-name"),
        ("compile", "--schedule"),
        ("compile", "--vectors"),
        ("neighbors", "--model"),
        ("predict", "--input"),
        ("predict", "--model"),
        ("report", "--output"),
        ("report", "--pipeline-name"),
        ("report", "--reports"),
        ("report", "--run"),
        ("run", "--config"),
        ("run", "--data"),
        ("run", "--model-name"),
        ("run", "--output"),
        ("run", "--pipeline-name"),
        ("run", "--vectors"),
        ("score", "--input"),
        ("score", "--model"),
        ("score", "--output"),
    ]


@pytest.mark.parametrize(("command", "option"), _TEXT_OPTIONS)
def test_every_path_or_name_option_given_empty_says_it_is_empty(tmp_path, monkeypatch, command, option):
    monkeypatch.chdir(tmp_path)
    code, line = _last_error_line(_argv(command, option, ""))
    assert code == 2
    assert line.startswith(f"imdb-pipeline {command}: ")
    assert f" {option} is empty" in line, line
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "--model=m", "--input="], "imdb-pipeline predict: --input is empty: name a file"),
        (
            ["score", "--model=m", "--input=", "--output=o"],
            "imdb-pipeline score: --input is empty: name a file or folder",
        ),
        (
            ["score", "--model=m", "--input=i", "--output=  "],
            "imdb-pipeline score: --output is empty: name a new or empty folder",
        ),
        (
            ["neighbors", "--model=", "w"],
            "imdb-pipeline neighbors: --model is empty: name a pushed version directory or the model "
            "directory above it",
        ),
        (
            ["compile", "--output-file=", "--image=i"],
            "imdb-pipeline compile: --output-file is empty: name a file",
        ),
        (
            ["compile", "--output-file=a.yaml", "--image="],
            "imdb-pipeline compile: --image is empty: name an image",
        ),
        (
            ["run", "--dry-run", "--data="],
            "imdb-pipeline run: --data is empty: give a value, or leave the flag out for its default",
        ),
        (["report", "--run="], "imdb-pipeline report: --run is empty: name a run id"),
    ],
)
def test_an_empty_value_names_what_to_give(tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert _last_error_line(argv) == (2, message)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(_TEXT_OPTIONS), st.text(" \t", max_size=3))
def test_a_blank_value_is_empty_too(command_and_option, blank):
    command, option = command_and_option
    code, line = _last_error_line(_argv(command, option, blank))
    assert code == 2
    assert f" {option} is empty" in line, line


# --------------------------------------------------------------------------------------------
# --runner
# --------------------------------------------------------------------------------------------

_RUNNERS = ", ".join(StandardOptions.KNOWN_RUNNER_NAMES)


def _runner_error(runner: str) -> str | None:
    try:
        cli.split_beam_args([f"--runner={runner}"], _COMMANDS["score"])
    except cli.UsageError as error:
        return str(error)
    return None


@pytest.mark.parametrize(
    ("runner", "what"),
    [
        ("Bogus", "--runner Bogus: Apache Beam has no such runner"),
        ("", "--runner is empty"),
        (" ", "--runner is empty"),
    ],
)
def test_an_unknown_runner_is_a_usage_error_naming_the_known_ones(runner, what):
    assert _runner_error(runner) == (
        f"{what}; give one of {_RUNNERS} (in any case, 'Runner' optional), or the module.Class path of a "
        "PipelineRunner subclass"
    )


@pytest.mark.parametrize(
    "runner",
    [
        *StandardOptions.KNOWN_RUNNER_NAMES,
        "direct",
        "DIRECT",
        "fnapi",
        "pythonrpcdirect",
        "PythonRPCDirectRunner",
        *StandardOptions.ALL_KNOWN_RUNNERS,
        "my_package.runners.MyRunner",  # not imported: only the job would
    ],
)
def test_every_runner_beam_accepts_is_passed_on(runner):
    assert _runner_error(runner) is None


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), max_size=24))
def test_a_runner_is_refused_exactly_when_beam_would_refuse_it(runner):
    """Without a dot, ``create_runner`` refuses a name (ValueError) or makes one of its runners (not
    called here: that imports the runner's optional dependencies)."""
    known = runner.lower() in _RUNNER_MAP or runner.lower() + "runner" in _RUNNER_MAP
    assert (_runner_error(runner) is None) == known
    if not known:
        with pytest.raises(ValueError, match="Unexpected pipeline runner"):
            create_runner(runner)


def test_a_config_files_unknown_runner_names_the_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("beam_args: ['--runner=Bogus']\n")
    code, line = _last_error_line(["run", "--dry-run", f"--config={config}", f"--output={tmp_path / 'out'}"])
    assert code == 2
    assert line == (
        f"imdb-pipeline run: configuration error: config file {config}, line 1: beam_args: --runner Bogus: "
        f"Apache Beam has no such runner; give one of {_RUNNERS} (in any case, 'Runner' optional), or the "
        "module.Class path of a PipelineRunner subclass"
    )
