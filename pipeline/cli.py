"""The ``imdb-pipeline`` command line: the parser of every command (``pipeline/commands/``), and dispatch.

An option that is not the command's goes, untouched, to every Beam-based step
if Apache Beam's own ``PipelineOptions`` know it; any other is a usage error
(exit 2) naming the closest known option.
"""

from __future__ import annotations

import argparse
import atexit
from collections.abc import Iterator, Sequence
import contextlib

# Imported before the signal handlers are installed: pydantic-core (Rust, pyo3) imports datetime's C API
# the first time it needs it and panics, a Rust backtrace on stderr, when a signal interrupts that import.
import datetime  # noqa: F401
import functools
import os
import re
import sys
import threading
import types
import typing

from pipeline import interrupts
from pipeline.commands.common import (  # noqa: F401 - the exit codes, for callers
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    NAME_METAVAR,
    PATH_METAVARS,
    StdoutError,
    empty_value,
    flush_stdout,
    name_stdout_errors,
    one_value_each,
    refuse,
    shown_values,
)
from pipeline.gc_at_exit import freeze_gc_at_exit

# The spellings a true/false flag once took (stripped, any case), by the value each meant.
_FORMER_BOOLS = dict.fromkeys(("true", "yes", "1", "on"), "true") | dict.fromkeys(
    ("false", "no", "0", "off"), "false"
)


def _parse_bool(text: str) -> bool:
    """A true/false flag, read as a config file reads it (``1``, ``yes`` and ``on`` are refused there too);
    a spelling once taken (``yes``, ``0``, any case, padded) is refused saying what to write instead."""
    from pipeline.config import BOOL_SPELLINGS, read_bool

    value = read_bool(text)
    if value is None:
        meant = _FORMER_BOOLS.get(text.strip().lower())
        raise argparse.ArgumentTypeError(
            f"expected true or false ({', '.join(BOOL_SPELLINGS)}), got {text!r}"
            + (f": write {meant}" if meant else "")
        )
    return value


class ListFlag(str):
    """A list option's text (``3,4,5``), parsed after argparse so a bad item is a configuration error."""


def parse_list_flag(name: str, text: str) -> list[int]:
    """The whole numbers of a comma-separated list option; an empty or bad item is refused (OptionsError)."""
    from components.options import OptionsError
    from pipeline.config import read_number

    if not text.strip():
        return []
    items = text.split(",")
    values = []
    for position, item in enumerate(items, start=1):
        value = read_number(item)
        if not isinstance(value, int):
            what = f"an item that is not a whole number (item {position} of {len(items)}, {item.strip()!r})"
            if not item.strip():
                what = f"an empty item (item {position} of {len(items)})"
            raise OptionsError(
                f"{name} has {what} in {text!r}; give comma-separated whole numbers such as 3,4,5"
            )
        values.append(value)
    return values


def _flag_type(annotation: typing.Any):
    """How a flag's text becomes the field's value (the model then checks it)."""
    if annotation is bool:
        return _parse_bool
    if typing.get_origin(annotation) is tuple:
        return ListFlag
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # int | None
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if annotation in (int, float):
        return functools.partial(_number, annotation)
    return str


def _number(kind: type, text: str) -> int | float:
    """A number flag, read as a config file reads it (``1_0`` and non-ASCII digits are no number there)."""
    from pipeline.config import read_number

    value = read_number(text)
    if value is None or (kind is int and not isinstance(value, int)):
        shown = text if len(text) <= 40 else f"{text[:40]}..."
        raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {shown!r}")
    return value


def _shown(value: typing.Any) -> str:
    if value is None:
        return "none"
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


# Top-level defaults that are not a literal value.
_SHOWN_DEFAULTS = {"data": "the bundled sample", "span": "newest"}


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config``, ``--top-level-field`` and ``--section.field`` flags of PipelineConfig, for ``run`` and ``compile``."""
    from pipeline import config as config_module

    parser.add_argument(
        "--config", action="append", metavar="FILE", help="YAML configuration file (flags override it)"
    )
    fields = config_module.PipelineConfig.model_fields
    for name in config_module.TOP_LEVEL_KEYS:
        if name == "beam_args":
            continue  # any option Beam knows
        field = fields[name]
        default = _SHOWN_DEFAULTS.get(name, field.default)
        flag_type = _flag_type(field.annotation)
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=flag_type,
            metavar="PATH" if name in config_module.PATH_KEYS else NAME_METAVAR if flag_type is str else None,
            help=f"{field.description} (default: {_shown(default)})",
        )
    for section, options_class in config_module.SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        for name, field in options_class.model_fields.items():
            group.add_argument(
                f"--{section}.{name}",
                dest=f"{section}.{name}",
                type=_flag_type(field.annotation),
                metavar=name.upper(),
                help=f"{field.description} (default: {_shown(field.default)})".replace("%", "%%"),
            )


class UsageError(ValueError):
    """A command line this program cannot take (an unknown option); exit code 2."""


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings]


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [option for option in _option_strings(parser) if option.startswith("--")]


def _beam_parser() -> argparse.ArgumentParser:
    """Apache Beam's own parser (``PipelineOptions.get_all_options``), whose errors are UsageErrors."""
    import apache_beam  # noqa: F401 - registers the runners' PipelineOptions subclasses
    from apache_beam.options.pipeline_options import PipelineOptions

    captured: list[argparse.ArgumentParser] = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=captured.append)
    parser = captured[0]

    def refuse(message: str) -> typing.NoReturn:
        raise UsageError(f"Apache Beam option: {message}")

    parser.error = refuse  # a bad Beam value is a usage error here, not Beam's exit with its usage text
    return parser


def split_beam_args(unknown: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """``unknown`` (what ``parser`` did not take), untouched, if Apache Beam knows every option in it.

    Raises:
        UsageError: an option neither the command's nor Beam's (with the closest one), or a stray value.
    """
    if not unknown:
        return []

    beam_parser = _beam_parser()
    ours = {option.replace("-", "_"): option for option in _long_options(parser)}
    for flag in (arg.split("=", 1)[0] for arg in unknown):
        # Beam's `--dry_run` (a test option: the job runs) for this command's `--dry-run`
        ours_flag = ours.get(flag.replace("-", "_"), flag)
        if ours_flag != flag and flag in _long_options(beam_parser):
            raise UsageError(
                f"{flag} is Apache Beam's option, not {parser.prog}'s {ours_flag}: did you mean {ours_flag}?"
            )
        if flag in _REFUSED_BEAM_OPTIONS:
            raise UsageError(
                f"{flag} is Apache Beam's option for testing runners (every Beam step would be given it), "
                f"not {parser.prog}'s: {_REFUSED_BEAM_OPTIONS[flag]}"
            )
    try:
        beam_values, leftovers = beam_parser.parse_known_args(list(unknown))
    except UsageError:
        raise
    except Exception as error:  # Beam's own argparse actions (JSON, dict options) raise what they raise
        raise UsageError(
            f"Apache Beam options {' '.join(unknown)}: {type(error).__name__}: {error}"
        ) from error
    if not leftovers:
        _check_runner(beam_values.runner)
        return list(unknown)
    known_options = _long_options(parser) + _long_options(beam_parser)
    problems = []
    previous_was_unknown_flag = after_dashes = False
    for arg in leftovers:
        if after_dashes or arg == "--":  # `--` ends the options: what follows is an argument (none is taken)
            problems.append(f"unexpected argument {arg!r}")
            after_dashes = True
        elif arg.startswith("-") and arg != "-":
            problems.append(_unknown_option(arg, known_options))
            previous_was_unknown_flag = "=" not in arg
        elif not previous_was_unknown_flag:
            problems.append(f"unexpected argument {arg!r}")
        else:
            previous_was_unknown_flag = False
    raise UsageError(
        "; ".join(problems)
        + f"; options that are not {parser.prog}'s go to Apache Beam only if Beam knows them"
    )


def _check_runner(runner: str | None) -> None:
    """A UsageError for a ``--runner`` that Beam's ``create_runner`` refuses: a name that is neither one of
    its runners (in any case, ``Runner`` optional) nor a dotted ``module.Class`` path (not imported here)."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners.runner import _RUNNER_MAP

    if runner is None:
        return
    resolved = _RUNNER_MAP.get(runner.lower(), _RUNNER_MAP.get(runner.lower() + "runner", runner))
    if "." not in resolved:
        what = (
            "is empty" if not runner.strip() else f"{shown_values([runner])}: Apache Beam has no such runner"
        )
        raise UsageError(
            f"--runner {what}; give one of "
            f"{', '.join(StandardOptions.KNOWN_RUNNER_NAMES)} (in any case, 'Runner' optional), or the "
            "module.Class path of a PipelineRunner subclass"
        )


def merge_beam_args(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """``base`` (a config file's Beam flags) with ``overrides`` (the command line's, last) winning by Beam option."""
    actions = _beam_parser()._option_string_actions

    def groups(args: Sequence[str]) -> list[tuple[str, list[str]]]:
        found: list[tuple[str, list[str]]] = []
        for arg in args:
            if arg.startswith("--") or not found:
                name = arg.split("=", 1)[0]
                action = actions.get(name)
                found.append((action.dest if action is not None else name, [arg]))
            else:
                found[-1][1].append(arg)
        return found

    override_groups = groups(overrides)
    overridden = {name for name, _ in override_groups}
    kept = [arg for name, group in groups(base) if name not in overridden for arg in group]
    return kept + [arg for _, group in override_groups for arg in group]


def config_from_args(
    args: argparse.Namespace, beam_args: Sequence[str], parser: argparse.ArgumentParser | None = None
):
    """The validated PipelineConfig of a ``run`` or ``compile`` command line (``parser``: run's if None).

    Raises:
        UsageError: an option that is neither the command's nor Beam's.
        OptionsError: a value is invalid (a config file's: naming the file and line).
    """
    from pipeline import config as config_module

    if parser is None:
        parser = _commands(build_parser())["run"]
    beam_args = split_beam_args(beam_args, parser)
    # The configuration values (``output``, ``trainer.epochs``) among the parsed arguments, by name.
    overrides = {
        key: parse_list_flag(key, value) if isinstance(value, ListFlag) else value
        for key, value in vars(args).items()
        if key in config_module.TOP_LEVEL_KEYS or key.partition(".")[0] in config_module.SECTIONS
    }
    if args.config and not all(path.strip() for path in args.config):
        raise UsageError("--config is empty: name a YAML file (an unset variable?)")
    if args.config and len(args.config) > 1:
        raise UsageError(
            f"--config was given {len(args.config)} times ({shown_values(args.config)}): give one file; "
            "flags override its values"
        )
    config_path = args.config[0] if args.config else None
    config_file = config_module.load_config_file(config_path) if config_path else None
    file_beam_args = config_file.get("beam_args") if config_file else None
    if isinstance(file_beam_args, list) and all(isinstance(arg, str) for arg in file_beam_args):
        try:
            split_beam_args(file_beam_args, parser)
        except UsageError as error:
            raise config_module.OptionsError(
                f"config file {config_file.where('beam_args')}: beam_args: {error}"
            ) from error
        if beam_args:
            beam_args = merge_beam_args(file_beam_args, beam_args)
    if beam_args:
        overrides["beam_args"] = list(beam_args)
    try:
        return config_module.build_config(
            config_file,
            overrides,
            # A config read from a pipe (``--config <(...)``) has no folder: the working folder.
            # realpath: ``/dev/stdin < conf.yaml`` is the file itself, in its folder (not /dev).
            file_dir=os.path.dirname(os.path.realpath(config_path))
            if config_path and os.path.isfile(config_path)
            else None,
        )
    except config_module.OptionsError as error:
        key = str(error).split(" ", 1)[0].rstrip(":")
        if config_file is None or key not in config_file.lines or overrides.get(key) is not None:
            raise
        raise config_module.OptionsError(f"config file {config_file.where(key)}: {error}") from error


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ).choices


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imdb-pipeline",
        description="IMDb sentiment: a TFX pipeline with pretrained or word2vec embeddings injected into Keras.",
    )
    from pipeline.commands import neighbors, predict, report, run, score

    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_add_parser in (
        run.add_run_parser,
        run.add_compile_parser,
        predict.add_parser,
        score.add_parser,
        neighbors.add_parser,
        report.add_parser,
    ):
        module_add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``imdb-pipeline`` console script; returns the exit code."""
    own_process = argv is None
    if own_process:
        # The process is the command's own (a caller passing argv keeps its signal handlers).
        interrupts.install()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Who says a signal stopped it, known before the parser is: the command is the first word (the
    # parser's one option before it is --help).
    prog = f"imdb-pipeline {argv[0]}" if argv and not argv[0].startswith("-") else "imdb-pipeline"
    stdout = name_stdout_errors() if own_process else None
    try:
        freeze_gc_at_exit()
        parser = build_parser()  # imports no TensorFlow
        _name_unknown_options_in_errors(parser, argv)
        _refuse_double_dash_values(parser, argv)
        try:
            args, unknown = parser.parse_known_args(argv)
            # TensorFlow reads its C++ log level once, when first imported. From the parsed
            # flag: a review text "--verbose" (after --) is not the option.
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if getattr(args, "verbose", False) else "2")
            code = _dispatch(parser, args, unknown)
        except SystemExit:  # argparse's, after --help (a write error of which it swallows) or a usage error
            flush_stdout(stdout)
            raise
        flush_stdout(stdout)
    except KeyboardInterrupt:
        code = None
    except BrokenPipeError:
        # The reader went away (`imdb-pipeline predict ... | head`): stop quietly, as other filters
        # do; the exit code says not everything was written.
        _discard_stdout()
        return EXIT_FAILED
    except StdoutError as error:
        # A full disk, `> /dev/full`, no standard output, an encoding that cannot hold a review: one line,
        # not a traceback (what was written before it is kept).
        with contextlib.suppress(OSError):
            sys.stdout.flush()
        _discard_stdout()
        print(f"{prog}: cannot write to standard output: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    except BaseException:
        if interrupts.received() is None:
            raise
        code = None  # what a library made of the signal's KeyboardInterrupt
    signum = interrupts.received()
    if code is None or signum is not None:
        # Ctrl-C or SIGTERM: one line, not the traceback of wherever the work was (the run's lock and
        # the pushed models are released and kept by their own context managers on the way out).
        print(f"{prog}: {interrupts.stopped_word()}", file=sys.stderr)
        code = EXIT_CODES.get(signum, EXIT_INTERRUPTED)
        if own_process:
            # The cleanup is done. A library's thread stopped mid-work (Beam's, TensorFlow's) may wait
            # for work that never comes, and the interpreter's exit would wait for it: end here, after
            # the atexit hooks (TensorFlow's removal of its temporary files).
            _run_atexit_hooks()
            with contextlib.suppress(OSError):  # a full standard output: the line above says what happened
                sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return code


def _discard_stdout() -> None:
    """Standard output goes to /dev/null, so that the interpreter's final flush of what it holds cannot fail again."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


# How long the atexit hooks may take after a signal before the process ends without them.
ATEXIT_SECONDS = 10.0


def _run_atexit_hooks() -> None:
    """Runs the atexit hooks as the interpreter's exit would, in a thread that cannot keep the process:
    a hook that hangs is left after :data:`ATEXIT_SECONDS`, a further signal leaves it at once, and
    after one that raises the next hooks run."""
    # Its error, as a thread's after a signal (interrupts.install), is the signal's consequence:
    # the command's one line, already printed, says what happened.
    sys.unraisablehook = lambda report: None
    hooks = threading.Thread(target=atexit._run_exitfuncs, name="atexit", daemon=True)
    with contextlib.suppress(BaseException):  # a further signal, even while the thread starts: end now
        hooks.start()
        hooks.join(ATEXIT_SECONDS)


_BEAM_COMMANDS = ("run", "compile", "score")  # their unknown options go to Apache Beam
_NEGATIVE_NUMBER = re.compile(r"-\d+|-\d*\.\d+")  # argparse's: a value, not an option


def _unknown_options(command: str, command_parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``unknown option --x (did you mean --y?)`` for each option (``--x`` or ``-x``) after ``command`` (up to
    ``--``) in ``argv`` that neither the command nor, for a Beam command, Apache Beam knows."""
    words = list(argv[argv.index(command) + 1 :]) if command in argv else []
    if "--" in words:
        words = words[: words.index("--")]
    known = list(_known_options(command, command_parser))
    suggested = [option for option in known if option.startswith("--")]
    # argparse reads a single-dash word as the one-letter option and its attached value (-m/path).
    names = [
        word.split("=", 1)[0] if word.startswith("--") else word[:2]
        for word in words
        if _is_option_word(word)
    ]
    return [_unknown_option(name, suggested) for name in names if name not in known]


def _known_options(command: str, command_parser: argparse.ArgumentParser) -> Iterator[str]:
    """The options (``--x``, ``-x``) ``command`` takes: its own, then, for a Beam command, Apache Beam's,
    whose parser (Apache Beam's import, seconds) ``in`` builds only for an option not the command's own."""
    yield from _option_strings(command_parser)
    if command in _BEAM_COMMANDS:
        yield from _option_strings(_beam_parser())


def _is_option_word(word: str) -> bool:
    """Whether argparse takes ``word`` for an option (``--x``, ``-x``), not a value such as ``-`` or ``-3``
    or a review text with a space."""
    return word.startswith("-") and word != "-" and " " not in word and not _NEGATIVE_NUMBER.fullmatch(word)


# Apache Beam's options refused by every command that passes options to Beam, and never suggested for an
# unknown one, with what to use instead: ``--dry_run`` (Beam's option for testing runners) is not
# ``run --dry-run``.
_REFUSED_BEAM_OPTIONS = {"--dry_run": "to see what a run would do, use imdb-pipeline run --dry-run"}


def _unknown_option(arg: str, known: Sequence[str]) -> str:
    """``unknown option --x (did you mean --y?)`` for ``arg`` (``--x`` or ``--x=value``); for a
    single-dash ``-x``, the one known ``--x...`` it abbreviates, if exactly one (``-m``: ``--model``)."""
    from pipeline.config import did_you_mean

    known = [option for option in known if option not in _REFUSED_BEAM_OPTIONS]
    name = arg.split("=", 1)[0]
    if name.startswith("--"):
        return f"unknown option {name}{did_you_mean(name, known)}"
    expanded = [option for option in known if option.startswith("-" + name)]
    return f"unknown option {name}" + (f" (did you mean {expanded[0]}?)" if len(expanded) == 1 else "")


def _name_unknown_options_in_errors(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Every command's usage error also names its unknown options (argparse stops at the first error:
    ``predict --modle x`` would only say that ``--model`` is required)."""
    for command, command_parser in _commands(parser).items():

        def error(
            message: str, command=command, command_parser=command_parser, original=command_parser.error
        ):
            if not message.startswith("unrecognized arguments"):
                message = "; ".join([message, *_unknown_options(command, command_parser, argv)])
            original(message)

        command_parser.error = error


def _refuse_double_dash_values(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """``--run=--`` is a usage error: Python 3.11's argparse drops a value of exactly ``--`` (the end of the
    options), and the option, the command's or Apache Beam's, would get an empty list. An option neither knows
    is left to the unknown-option error."""
    command = argv[0] if argv else None
    command_parser = _commands(parser).get(command)
    if command_parser is None:
        return
    options = argv[1 : argv.index("--")] if "--" in argv else argv[1:]
    for word in options:
        option, equals, value = word.partition("=")
        if not (option.startswith("--") and equals and value == "--"):
            continue
        if option in _known_options(command, command_parser):
            action = command_parser._option_string_actions.get(option)
            path = action is not None and action.metavar in PATH_METAVARS
            command_parser.error(
                f"argument {option}: a value of '--' cannot be given ({word}): argparse reads '--' as the end "
                f"of the options{' (for a path, write ./--)' if path else ''}"
            )


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> int:
    from pipeline.commands import neighbors, predict, report, run, score
    from pipeline.config import did_you_mean

    command_parser = _commands(parser)[args.command]
    one_value_each(command_parser, args)
    if (problem := empty_value(command_parser, args)) is not None:
        return refuse(args.command, problem)
    beam_commands = {"run": run.run_command, "compile": run.compile_command, "score": score.main}
    if args.command in beam_commands:
        return beam_commands[args.command](args, unknown, command_parser)
    if unknown:
        known = _long_options(command_parser)
        # `--` ends the options: every word after it is an argument (predict's and neighbors' texts never
        # reach here), not an option to suggest.
        dashes = unknown.index("--") if "--" in unknown else len(unknown)
        problems = ", ".join(
            shown_values([arg])
            + (did_you_mean(arg.split("=", 1)[0], known) if arg.startswith("--") and place < dashes else "")
            for place, arg in enumerate(unknown)
        )
        if dashes < len(unknown):
            problems += f" (after --, every word is an argument: {command_parser.prog} takes none)"
        command_parser.error(f"unrecognized arguments: {problems}")
    return {"neighbors": neighbors.main, "report": report.main, "predict": predict.main}[args.command](args)


# `python -m pipeline.cli`, as `python -m pipeline`: the main of the module the commands import.
if __name__ == "__main__":
    from pipeline.cli import main as imported_main

    sys.exit(imported_main())
