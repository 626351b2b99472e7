"""The ``imdb-pipeline`` command line.

``imdb-pipeline run`` runs the whole pipeline locally with TFX's LocalDagRunner;
``imdb-pipeline predict`` classifies text with a pushed model, ``imdb-pipeline
score`` scores a large set of reviews in a Beam job. An option that
is not the command's goes, untouched, to every Beam-based step if Apache Beam's
own ``PipelineOptions`` know it; any other is a usage error (exit 2) naming the
closest known option.

Each command's parser and what it does are in ``pipeline/commands/``; this
module builds the parser from them, dispatches, and holds what they share.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import logging
import os
import sys
import types
import typing

from pipeline.gc_at_exit import freeze_gc_at_exit

logger = logging.getLogger("pipeline")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3

_PROJECT_LOGGERS = ("pipeline", "components", "schemas")


def _parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class ListFlag(str):
    """A list option's text as given (``3,4,5``); :func:`parse_list_flag` turns it into the list.

    Parsed after argparse, so that a bad item is a configuration error naming
    the option, as a bad value of any other option is.
    """


def parse_list_flag(name: str, text: str) -> list[int]:
    """The whole numbers of a comma-separated list option ``name``.

    Every item counts: an empty one (``3,,4``, ``3,4,``) or one that is not a
    whole number is refused, never skipped. A blank text is the empty list
    (which the option's own check then refuses by name).

    Raises:
        OptionsError: naming the option, the item (by position) and the text.
    """
    from components.options import OptionsError

    if not text.strip():
        return []
    items = text.split(",")
    values = []
    for position, item in enumerate(items, start=1):
        if not item.strip():
            raise OptionsError(
                f"{name} has an empty item (item {position} of {len(items)}) in {text!r}; "
                "give comma-separated whole numbers such as 3,4,5"
            )
        try:
            values.append(int(item))
        except ValueError:
            raise OptionsError(
                f"{name} has an item that is not a whole number (item {position} of {len(items)}, "
                f"{item.strip()!r}) in {text!r}; give comma-separated whole numbers such as 3,4,5"
            ) from None
    return values


def _flag_type(annotation: typing.Any):
    """How a flag's text becomes the field's value (the model then checks it)."""
    if annotation is bool:
        return _parse_bool
    if typing.get_origin(annotation) is tuple:
        return ListFlag
    if annotation in (int, float):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # int | None
        return next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    return str


def _shown(value: typing.Any) -> str:
    if value is None:
        return "none"
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)


# Top-level defaults that are not a literal value.
_SHOWN_DEFAULTS = {"data": "the bundled sample", "span": "newest"}


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that build a PipelineConfig (shared by ``run`` and ``compile``), from its fields.

    Top-level fields are ``--name-with-dashes``; section fields are
    ``--section.field``. Each flag's help is the field's description and default.
    """
    from pipeline import config as config_module

    parser.add_argument("--config", help="YAML configuration file (flags override it)")
    fields = config_module.PipelineConfig.model_fields
    for name in config_module.TOP_LEVEL_KEYS:
        if name == "beam_args":
            continue  # any option Beam knows
        field = fields[name]
        default = _SHOWN_DEFAULTS.get(name, field.default)
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=_flag_type(field.annotation),
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


_BEAM_PASS_THROUGH = (
    "Options that Apache Beam knows are passed to it (e.g. --direct_running_mode=multi_processing "
    "--direct_num_workers=2, or --runner=DataflowRunner ...)."
)


def _beam_command(subparsers, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A command whose unknown options go to Apache Beam: no abbreviations, and its help says so."""
    return subparsers.add_parser(
        name, allow_abbrev=False, help=help, description=f"{description} {_BEAM_PASS_THROUGH}"
    )


def _add_shared(parser: argparse.ArgumentParser, *names: str, **helps: str) -> None:
    """Adds flags that several commands share, by name; ``helps`` words one for this command."""
    from pipeline import predict

    shared: dict[str, tuple[str, dict[str, typing.Any]]] = {
        "model": (
            "--model",
            {
                "required": True,
                "help": "a pushed version directory, or the model directory (newest version is used)",
            },
        ),
        "batch_size": (
            "--batch-size",
            {
                "type": _positive_int,
                "default": predict.DEFAULT_BATCH_SIZE,
                "help": f"reviews per call of the model (default: {predict.DEFAULT_BATCH_SIZE})",
            },
        ),
        "verbose": (
            "--verbose",
            {"action": "store_true", "help": "show every TFX, Beam and TensorFlow log line"},
        ),
    }
    for name in names:
        flag, kwargs = shared[name]
        parser.add_argument(flag, dest=name, **{**kwargs, "help": helps.get(name, kwargs["help"])})


class _WithoutTraceback(logging.Formatter):
    """Log lines without the traceback a library attaches (Beam logs one for every failed DoFn).

    The message says what went wrong; a traceback is for ``--verbose``, not for a
    user whose data or configuration is wrong.
    """

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
        )
        return super().format(record)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        (logging.Formatter if verbose else _WithoutTraceback)(
            "%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"
        )
    )
    if not verbose:
        # TFX's and Beam's INFO records stay out (--verbose shows them): the project's own
        # step lines (pipeline/step_log.py, from ML Metadata) say what each step did.
        def keep(record: logging.LogRecord) -> bool:
            return record.name.split(".")[0] in _PROJECT_LOGGERS or record.levelno >= logging.ERROR

        handler.addFilter(keep)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    tensorflow_logger = logging.getLogger("tensorflow")
    tensorflow_logger.handlers[:] = []
    tensorflow_logger.setLevel(logging.INFO if verbose else logging.WARNING)


def _config_keys() -> set[str]:
    """The parsed arguments that are configuration values (the rest steer the command).

    The top-level keys and every ``section.field`` flag of :func:`_add_config_arguments`,
    chosen by name so that a new command flag can never reach ``build_config``.
    """
    from pipeline import config as config_module

    keys = set(config_module.TOP_LEVEL_KEYS)
    for section, options_class in config_module.SECTIONS.items():
        keys.update(f"{section}.{name}" for name in options_class.model_fields)
    return keys


class UsageError(ValueError):
    """A command line this program cannot take (an unknown option); exit code 2."""


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings]


def _beam_parser() -> argparse.ArgumentParser:
    """Apache Beam's own parser: the options of every registered ``PipelineOptions`` subclass.

    Built by ``PipelineOptions.get_all_options``, as Beam builds it when a
    pipeline reads its options, so what it accepts is what Beam will use.
    """
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
    """Returns ``unknown`` (what ``parser`` did not take) if Apache Beam knows every option in it.

    Beam options pass through untouched, as ``--flag=value`` or ``--flag value``.

    Raises:
        UsageError: an option neither this command's nor Beam's (with the
            closest known option), or a stray value.
    """
    if not unknown:
        return []
    from pipeline.config import closest

    beam_parser = _beam_parser()
    try:
        _known, leftovers = beam_parser.parse_known_args(list(unknown))
    except UsageError:
        raise
    except Exception as error:  # Beam's own argparse actions (JSON, dict options) raise what they raise
        raise UsageError(
            f"Apache Beam options {' '.join(unknown)}: {type(error).__name__}: {error}"
        ) from error
    if not leftovers:
        return list(unknown)
    known_options = _option_strings(parser) + _option_strings(beam_parser)
    problems = []
    previous_was_unknown_flag = False
    for arg in leftovers:
        if arg.startswith("-") and arg != "-":
            name = arg.split("=", 1)[0]
            suggestion = closest(name, [option for option in known_options if option.startswith("--")])
            problems.append(
                f"unknown option {name}" + (f" (did you mean {suggestion}?)" if suggestion else "")
            )
            previous_was_unknown_flag = "=" not in arg
        elif not previous_was_unknown_flag:
            problems.append(f"unexpected argument {arg!r}")
        else:
            previous_was_unknown_flag = False
    raise UsageError(
        "; ".join(problems)
        + f"; options that are not {parser.prog}'s go to Apache Beam only if Beam knows them"
    )


def merge_beam_args(base: Sequence[str], overrides: Sequence[str]) -> list[str]:
    """``base`` (a config file's Beam flags) with ``overrides`` (the command line's) winning flag by flag.

    A flag is known by the Beam option it sets (``dest``), so ``--runner X`` and
    ``--runner=Y`` are the same flag; the values after a flag (``--flag value``)
    go with it. A flag only in ``base`` is kept, one in both takes the command
    line's value(s), and the command line's flags come last.
    """
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
    """Builds the validated PipelineConfig of a ``run`` or ``compile`` command line.

    Args:
        args: The parsed command line.
        beam_args: What the command's parser did not take: Apache Beam options.
        parser: The command's parser (for suggestions); the ``run`` parser if None.

    Raises:
        UsageError: an option that is neither the command's nor Beam's.
        OptionsError: a value is invalid; a config-file value's message names
            the file and line.
    """
    from pipeline import config as config_module

    if parser is None:
        parser = _subparser(build_parser(), "run")
    beam_args = split_beam_args(beam_args, parser)
    config_keys = _config_keys()
    overrides = {key: value for key, value in vars(args).items() if key in config_keys}
    for key, value in overrides.items():
        if isinstance(value, ListFlag):
            overrides[key] = parse_list_flag(key, value)
    config_file = config_module.load_config_file(args.config) if args.config else None
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
            file_dir=os.path.dirname(os.path.abspath(args.config)) if args.config else None,
        )
    except config_module.OptionsError as error:
        key = str(error).split(" ", 1)[0].rstrip(":")
        if config_file is None or key not in config_file.lines or overrides.get(key) is not None:
            raise
        raise config_module.OptionsError(f"config file {config_file.where(key)}: {error}") from error


def _subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise KeyError(command)


def _configuration(command: str, args: argparse.Namespace, beam_args: list[str], parser):
    """The command's validated configuration after the pre-flight, or None after printing why not."""
    from components.options import OptionsError
    from pipeline import preflight

    try:
        config = config_from_args(args, beam_args, parser)
    except UsageError as error:
        print(
            f"imdb-pipeline {command}: error: {error} (see imdb-pipeline {command} --help)", file=sys.stderr
        )
        return None
    except OptionsError as error:
        print(f"imdb-pipeline {command}: configuration error: {error}", file=sys.stderr)
        return None
    try:
        preflight.check(config)
    except OptionsError as error:
        print(f"imdb-pipeline {command}: configuration error: {error}", file=sys.stderr)
        return None
    return config


def _import_tensorflow(verbose: bool = False, serving_only: bool = False) -> None:
    """Imports TensorFlow first, before TFX, Beam or a config check does, without its start-up lines.

    Every command calls this before its first use of TensorFlow: TensorFlow
    writes those lines (and probing the GPU its ``cuInit`` error) once, when it
    is imported, and only :func:`pipeline.predict.import_tensorflow` filters them.
    """
    if not serving_only:
        # The steps use tf_keras, and components/__init__.py makes tf.keras mean it: that must
        # happen before TensorFlow is imported (else tf.keras is Keras 3, imported for nothing).
        import components  # noqa: F401
    from pipeline.predict import import_tensorflow

    import_tensorflow(verbose=verbose, serving_only=serving_only)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imdb-pipeline",
        description="IMDb sentiment: a TFX pipeline with pretrained or word2vec embeddings injected into Keras.",
    )
    from pipeline.commands import neighbors, predict, report, run, score

    subparsers = parser.add_subparsers(dest="command", required=True)
    run._add_run_parser(subparsers)
    run._add_compile_parser(subparsers)
    predict._add_predict_parser(subparsers)
    score._add_score_parser(subparsers)
    neighbors._add_neighbors_parser(subparsers)
    report._add_report_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``imdb-pipeline`` console script; returns the exit code."""
    freeze_gc_at_exit()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()  # imports no TensorFlow
    _name_unknown_options_in_errors(parser, argv)
    args, unknown = parser.parse_known_args(argv)
    # TensorFlow reads its C++ log level once, when first imported. From the parsed
    # flag: a review text "--verbose" (after --) is not the option.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if getattr(args, "verbose", False) else "2")
    try:
        return _dispatch(parser, args, unknown)
    except BrokenPipeError:
        # The reader went away (`imdb-pipeline predict ... | head`): stop quietly, as other filters
        # do; the exit code says not everything was written. stdout goes to /dev/null so the
        # interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


_BEAM_COMMANDS = ("run", "compile", "score")  # their unknown options go to Apache Beam


def _unknown_options(command: str, command_parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``unknown option --x (did you mean --y?)`` for each option in ``argv`` the command does not know.

    ``argv`` is the whole command line; what follows the command's name is
    looked at, up to ``--`` (after it every word is a review text). For the
    commands whose other options go to Apache Beam, an option Beam knows is
    not unknown.
    """
    from pipeline.config import closest

    words = list(argv)
    words = words[words.index(command) + 1 :] if command in words else []
    if "--" in words:
        words = words[: words.index("--")]
    known = [option for option in _option_strings(command_parser) if option.startswith("--")]
    beam = _option_strings(_beam_parser()) if command in _BEAM_COMMANDS else []
    found = []
    for word in words:
        name = word.split("=", 1)[0]
        if not name.startswith("--") or name == "--" or name in known or name in beam:
            continue
        suggestion = closest(name, known + [option for option in beam if option.startswith("--")])
        found.append(f"unknown option {name}" + (f" (did you mean {suggestion}?)" if suggestion else ""))
    return found


def _name_unknown_options_in_errors(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """Every command's usage error also names its unknown options, with the closest known one.

    argparse stops at the first error it meets, e.g. a missing ``--model``,
    before the unknown options are looked at: ``predict --modle x`` would say
    only that ``--model`` is required. The unrecognized-arguments error of
    :func:`_dispatch` names them itself.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command, command_parser in action.choices.items():

            def error(
                message: str, command=command, command_parser=command_parser, original=command_parser.error
            ):
                if not message.startswith("unrecognized arguments"):
                    try:
                        unknown = _unknown_options(command, command_parser, argv)
                    except UsageError:
                        unknown = []
                    message = "; ".join([message, *unknown])
                original(message)

            command_parser.error = error


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> int:
    from pipeline.commands import neighbors, predict, report, run, score

    command_parser = _subparser(parser, args.command)
    if args.command == "run":
        return run._run(args, unknown, command_parser)
    if args.command == "compile":
        return run._compile(args, unknown, command_parser)
    if args.command == "score":
        return score._score(args, unknown, command_parser)
    if unknown:
        from pipeline.config import closest

        known = [option for option in _option_strings(command_parser) if option.startswith("--")]
        problems = []
        for arg in unknown:
            suggestion = closest(arg.split("=", 1)[0], known) if arg.startswith("--") else None
            problems.append(arg + (f" (did you mean {suggestion}?)" if suggestion else ""))
        command_parser.error(f"unrecognized arguments: {', '.join(problems)}")
    if args.command == "neighbors":
        return neighbors._neighbors(args)
    if args.command == "report":
        return report._report(args)
    return predict._predict(args)


if __name__ == "__main__":
    sys.exit(main())
