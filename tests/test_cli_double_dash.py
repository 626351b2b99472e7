"""A value of exactly ``--`` given as ``--flag=--``: Python 3.11's argparse drops it and the option gets an empty
list, which crashed every command that read the value as text. It is a usage error, for every option of every
command and for the Apache Beam options run, compile and score pass on."""

from __future__ import annotations

import argparse
import contextlib
import io

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from pipeline import cli

_PARSER = cli.build_parser()
_COMMANDS = cli._commands(_PARSER)
_VALUE_OPTIONS = sorted(
    (command, option)
    for command, command_parser in _COMMANDS.items()
    for action in command_parser._actions
    if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._HelpAction)
    for option in action.option_strings
    if option.startswith("--")
)


def _usage_error(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err.splitlines()[-1]


# The options whose value is a path: only their message says how to give a path named --.
_PATH_OPTIONS = {
    *(
        (command, option)
        for command in ("run", "compile")
        for option in ("--config", "--data", "--vectors", "--output")
    ),
    ("compile", "--output-file"),
    *((command, "--model") for command in ("predict", "neighbors", "score")),
    ("predict", "--input"),
    ("score", "--input"),
    ("score", "--output"),
    ("report", "--output"),
    ("report", "--reports"),
}


def _message(command: str, option: str) -> str:
    if (command, option) in _PATH_OPTIONS:
        return (
            f"imdb-pipeline {command}: error: argument {option}: a value of '--' cannot be given ({option}=--): "
            "argparse reads '--' as the end of the options (for a path, write ./--)"
        )
    return (
        f"imdb-pipeline {command}: error: argument {option}: a value of '--' cannot be given ({option}=--): "
        "argparse reads '--' as the end of the options"
    )


@pytest.mark.parametrize(
    ("argv", "command", "option"),
    [
        (["report", "--run=", "--run=--"], "report", "--run"),
        (["predict", "--model=--"], "predict", "--model"),
        (["run", "--output=--", "--dry-run"], "run", "--output"),
        (["neighbors", "--model=--", "film"], "neighbors", "--model"),
        (["score", "--model", "m", "--input", "i", "--output", "o", "--job_name=--"], "score", "--job_name"),
    ],
)
def test_a_double_dash_value_is_a_usage_error_not_a_crash(argv, command, option, capsys):
    assert _usage_error(argv, capsys) == _message(command, option)


def test_every_option_that_takes_a_value_is_covered():
    assert {command for command, _ in _VALUE_OPTIONS} == set(_COMMANDS)
    assert ("compile", "--output-file") in _VALUE_OPTIONS
    assert _PATH_OPTIONS.issubset(_VALUE_OPTIONS)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["report", "--output=--"],
            "imdb-pipeline report: error: argument --output: a value of '--' cannot be given (--output=--): "
            "argparse reads '--' as the end of the options (for a path, write ./--)",
        ),
        (
            ["report", "--pipeline-name=--"],
            "imdb-pipeline report: error: argument --pipeline-name: a value of '--' cannot be given "
            "(--pipeline-name=--): argparse reads '--' as the end of the options",
        ),
    ],
)
def test_only_a_path_option_is_told_how_to_give_a_path_named_double_dash(argv, message, capsys):
    assert _usage_error(argv, capsys) == message


@pytest.mark.parametrize(("command", "option"), _VALUE_OPTIONS)
def test_every_option_of_every_command_given_double_dash_is_refused(command, option, capsys):
    assert _usage_error([command, f"{option}=--"], capsys) == _message(command, option)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(_VALUE_OPTIONS), st.sampled_from(["--", "--", "x=--"]))
def test_only_a_value_of_exactly_double_dash_is_refused(command_and_option, tail):
    # `--model=x=--` is the value `x=--`, which argparse keeps: only `=--` ending the word is refused.
    command, option = command_and_option
    argv = [command, f"{option}={tail}"]
    if tail != "--":
        assert cli._refuse_double_dash_values(cli.build_parser(), argv) is None
        return
    with contextlib.redirect_stderr(io.StringIO()) as stderr, pytest.raises(SystemExit) as exited:
        cli._refuse_double_dash_values(cli.build_parser(), argv)
    assert exited.value.code == 2
    assert f"argument {option}: a value of '--' cannot be given ({option}=--)" in stderr.getvalue()


def test_after_the_end_of_the_options_the_word_is_an_argument(tmp_path, capsys):
    # predict's texts after `--` are reviews, whatever they look like: the model is what is missing.
    missing = tmp_path / "no-model"
    assert cli.main(["predict", "--model", str(missing), "--", "--text=--"]) == 2
    assert capsys.readouterr().err == f"imdb-pipeline predict: {missing} does not exist\n"


def test_an_option_no_one_knows_is_named_unknown_not_blamed_on_its_value(capsys):
    assert _usage_error(["predict", "--mod=--", "good"], capsys) == (
        "imdb-pipeline predict: error: the following arguments are required: --model; unknown option --mod "
        "(did you mean --model?)"
    )


@pytest.mark.parametrize("command", ["run", "compile"])
def test_a_beam_option_given_double_dash_is_refused_for_the_commands_that_pass_it_on(command, capsys):
    # Beam's own argparse turned `--temp_location=--` into [] and the run went on with it.
    assert _usage_error([command, "--temp_location=--"], capsys) == _message(command, "--temp_location")
