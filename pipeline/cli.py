"""The ``imdb-pipeline`` command line.

``imdb-pipeline run`` runs the whole pipeline locally with TFX's LocalDagRunner;
``imdb-pipeline predict`` classifies text with a pushed model, ``imdb-pipeline
score`` scores a large set of reviews in a Beam job. An option that
is not the command's goes, untouched, to every Beam-based step if Apache Beam's
own ``PipelineOptions`` know it; any other is a usage error (exit 2) naming the
closest known option.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import contextlib
import logging
import os
import sys
import types
import typing

from pipeline.shutdown import freeze_gc_at_exit

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


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from error


def _flag_type(annotation: typing.Any):
    """How a flag's text becomes the field's value (the model then checks it)."""
    if annotation is bool:
        return _parse_bool
    if typing.get_origin(annotation) is tuple:
        return _int_list
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


def _add_run_parser(subparsers) -> argparse.ArgumentParser:
    parser = _beam_command(
        subparsers,
        "run",
        help="run the whole pipeline locally",
        description=(
            "Run the pipeline with TFX's LocalDagRunner: ingest, validate, transform, embed, train, "
            "evaluate and push. Exit codes: 0 success (pushed or rightly not pushed), 1 a step failed, 2 usage "
            "or configuration error, 3 another run holds the output directory."
        ),
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="re-run every step even when its inputs did not change"
    )
    _add_shared(parser, "verbose")
    parser.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="show the steps, the data the run would ingest and where it would write; run nothing",
    )
    _add_config_arguments(parser)
    return parser


def _add_compile_parser(subparsers) -> argparse.ArgumentParser:
    parser = _beam_command(
        subparsers,
        "compile",
        help="compile the pipeline for Kubeflow Pipelines / Vertex AI Pipelines",
        description=(
            "Compile the same pipeline with TFX's Kubeflow V2 runner into the file an orchestrator loads: "
            "a Kubeflow Pipelines 2.x package (YAML PipelineSpec, --target kfp or a .yaml/.yml name; "
            "Vertex AI reads it too) or a Vertex AI pipeline job (JSON, --target vertex or a .json name). "
            "Paths (--data, --output, --vectors) must be readable by the cluster, e.g. gs://."
        ),
    )
    parser.add_argument(
        "--output-file",
        dest="output_file",
        required=True,
        help="where to write: NAME.yaml (Kubeflow Pipelines package) or NAME.json (Vertex AI job)",
    )
    parser.add_argument(
        "--target",
        choices=("kfp", "vertex"),
        help="kfp: Kubeflow Pipelines package (YAML); vertex: Vertex AI pipeline job (JSON) "
        "(default: from --output-file's extension, which must agree)",
    )
    parser.add_argument(
        "--image",
        required=True,
        help="container image with this project and requirements.lock installed, run by every step",
    )
    parser.add_argument(
        "--schedule",
        help="cron expression (e.g. '0 3 * * *'): also print the calls that create a recurring run",
    )
    _add_config_arguments(parser)
    return parser


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
        # TFX's per-component records never get here: StepLog (pipeline/step_log.py)
        # turns them into the project's own step lines.
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


def _run(args: argparse.Namespace, beam_args: list[str], parser) -> int:
    # Before anything imports TensorFlow, so its log settings apply.
    _configure_logging(args.verbose)
    _import_tensorflow(verbose=args.verbose)
    config = _configuration("run", args, beam_args, parser)
    if config is None:
        return EXIT_USAGE

    from pipeline import runner
    from pipeline.lock import RunInProgressError

    if args.dry_run:
        print(runner.describe_plan(config, enable_cache=not args.no_cache))
        return EXIT_OK
    try:
        summary = runner.run_pipeline(config, enable_cache=not args.no_cache)
    except RunInProgressError as error:
        print(f"imdb-pipeline run: {error}", file=sys.stderr)
        return EXIT_BUSY
    except Exception as error:
        logger.error("Pipeline failed", exc_info=args.verbose)
        print(f"imdb-pipeline run: FAILED: {runner.describe_failure(error)}", file=sys.stderr)
        return EXIT_FAILED
    print(summary.one_line())
    return EXIT_OK


def _compile(args: argparse.Namespace, beam_args: list[str], parser) -> int:
    _configure_logging(verbose=False)
    _import_tensorflow()
    from components.options import check_text
    from pipeline import kubeflow
    from pipeline.pipeline import create_pipeline, pipeline_steps

    try:
        check_text("--output-file", args.output_file)
        target = kubeflow.resolve_target(args.output_file, args.target)
        kubeflow.check_image(args.image)
        if args.schedule is not None:  # an empty one too: `--schedule "$CRON"` with CRON unset
            kubeflow.validate_cron(args.schedule)
    except ValueError as error:
        print(f"imdb-pipeline compile: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    config = _configuration("compile", args, beam_args, parser)
    if config is None:
        return EXIT_USAGE
    try:
        job = kubeflow.compile_pipeline(config, args.output_file, args.image, target)
    except (kubeflow.OutputFileError, kubeflow.PortableConfigError) as error:
        print(f"imdb-pipeline compile: {error}", file=sys.stderr)
        return EXIT_USAGE
    steps = len(pipeline_steps(create_pipeline(config, portable=True)))
    what = "Kubeflow Pipelines package" if target == kubeflow.KFP else "Vertex AI pipeline job"
    print(
        f"wrote {args.output_file}: {what} of pipeline {config.pipeline_name}, {steps} steps "
        f"({kubeflow.task_count(job)} tasks: TFX compiles the baseline resolver into two), image {args.image}"
    )
    print(kubeflow.client_commands(args.output_file, target, config, cron=args.schedule))
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    from pipeline import predict

    texts = list(args.texts)
    source = args.input
    if texts == [predict.STDIN] and source is None:
        source, texts = predict.STDIN, []
    if (source is None) == (not texts):
        print(
            f"imdb-pipeline predict: {'no reviews: give' if source is None else 'give'} review texts as "
            "arguments, or --input FILE (one review per line, or JSON Lines with a text field; - for "
            f"standard input){'' if source is None else ', not both'}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        with contextlib.ExitStack() as stack:
            if source is None:
                reviews = list(predict.reviews_from_arguments(texts))  # checked before the model loads
            elif source == predict.STDIN:
                reviews = predict.reviews_from_stream(sys.stdin.buffer, "standard input", args.input_format)
            else:
                try:
                    stream = stack.enter_context(open(source, "rb"))
                except OSError as error:
                    raise predict.InputError(f"--input {source}: {error.strerror}") from None
                reviews = predict.reviews_from_stream(stream, source, args.input_format)
            _import_tensorflow(verbose=args.verbose, serving_only=True)
            classifier = predict.Classifier(args.model)
            predict.score(classifier, reviews, args.format, sys.stdout, batch_size=args.batch_size)
    except (predict.ModelNotFoundError, predict.ModelLoadError, predict.InputError) as error:
        sys.stdout.flush()
        print(f"imdb-pipeline predict: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _add_predict_parser(subparsers) -> None:
    from pipeline import predict

    parser = subparsers.add_parser(
        "predict",
        allow_abbrev=False,  # `--out` is refused with the closest option, as in run, never guessed
        help="classify review texts with a pushed model",
        description=(
            "Print the positive-class probability of each review: from the TEXT arguments, or from "
            "--input FILE (one review per line, or JSON Lines with a text field; - or a lone TEXT - "
            "reads standard input), scored in batches. Output: one line per review, in input order: "
            "tsv (probability to 4 decimals, a tab, the text with \\, tab and line breaks escaped) or "
            "jsonl (the input record's fields, text and probability). Exit code 2 for a missing or "
            "damaged model or an unreadable review (the message names it)."
        ),
    )
    _add_shared(parser, "model")
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="review text")
    parser.add_argument(
        "--input",
        metavar="FILE",
        help="read reviews from FILE (- for standard input): one per line, or JSON Lines with a text field",
    )
    parser.add_argument(
        "--input-format",
        dest="input_format",
        choices=predict.INPUT_FORMATS,
        default="auto",
        help="lines, jsonl, or auto: JSON Lines when the first line is a JSON object (default: auto)",
    )
    parser.add_argument(
        "--format", choices=predict.OUTPUT_FORMATS, default=predict.TSV, help="output format (default: tsv)"
    )
    _add_shared(parser, "batch_size", "verbose", verbose="show TensorFlow's start-up log lines on stderr")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_score_parser(subparsers) -> argparse.ArgumentParser:
    from components.example_gen.options import ExampleGenOptions
    from pipeline import predict

    parser = _beam_command(
        subparsers,
        "score",
        help="score a large set of reviews with Beam's RunInference, on any Beam runner",
        description=(
            "Score every review of --input with a pushed model, in a Beam job (RunInference): an IMDb "
            "dataset (archive or folder), a text file (one review per line, or JSON Lines with a text "
            "field), or TFRecords of tf.Examples with a text feature. Writes OUTPUT/predictions-*.jsonl "
            "(or .tfrecord.gz), OUTPUT/quarantine/ (records set aside, with their reason, as ExampleGen "
            "does) and OUTPUT/summary.json. Exit codes: 0 done, 1 the job failed, 2 usage error, missing or damaged model or unreadable input."
        ),
    )
    _add_shared(
        parser,
        "model",
        model="a pushed version directory, or the model directory (newest version, pinned for the job)",
    )
    parser.add_argument("--input", required=True, help="the reviews: a file or folder, local or gs://")
    parser.add_argument("--output", required=True, help="a new or empty folder for the results")
    parser.add_argument(
        "--input-format",
        dest="input_format",
        default="auto",
        help="imdb, lines, jsonl, tfrecord, or auto: from the path (archive or dataset folder: imdb; "
        "'tfrecord' in the name: tfrecord; other files: jsonl if the first line is a JSON object, "
        "else lines) (default: auto)",
    )
    parser.add_argument(
        "--format",
        default=predict.JSON_LINES,
        help="jsonl, or tfrecord (tf.train.Examples, GZIP) (default: jsonl)",
    )
    default_bytes = ExampleGenOptions.model_fields["max_review_bytes"].default
    parser.add_argument(
        "--max-review-bytes",
        dest="max_review_bytes",
        type=_positive_int,
        default=default_bytes,
        help=f"a larger review is set aside as too_large, as in ExampleGen (default: {default_bytes})",
    )
    _add_shared(
        parser,
        "batch_size",
        "verbose",
        batch_size=f"most reviews per call of the model (default: {predict.DEFAULT_BATCH_SIZE})",
        verbose="show every Beam and TensorFlow log line",
    )
    return parser


def _score(args: argparse.Namespace, unknown: list[str], parser) -> int:
    _configure_logging(args.verbose)
    try:
        beam_args = split_beam_args(unknown, parser)
    except UsageError as error:
        print(f"imdb-pipeline score: error: {error} (see imdb-pipeline score --help)", file=sys.stderr)
        return EXIT_USAGE
    from pipeline import predict

    predict.import_tensorflow(verbose=args.verbose, serving_only=False)
    from components.example_gen.errors import ImdbDataError
    from pipeline import score

    try:
        if args.format not in score.OUTPUT_FORMATS:
            raise score.ScoreInputError(
                f"--format must be one of {', '.join(score.OUTPUT_FORMATS)}, got {args.format!r}"
            )
        source = score.resolve_input(args.input, args.input_format)
        model_dir = predict.Classifier(args.model).version_dir
        score.check_output(args.output)
        job = score.ScoreJob(
            model_dir=model_dir,
            input_path=args.input,
            source=source,
            output=args.output,
            output_format=args.format,
            batch_size=args.batch_size,
            max_review_bytes=args.max_review_bytes,
        )
        # Beam's worker processes (multi_processing) import TensorFlow too: keep their start-up
        # lines off stderr as well (the filter is on the file descriptor, which they inherit).
        with contextlib.nullcontext() if args.verbose else predict.stderr_without_startup_noise():
            summary = score.run_score(job, beam_args)
    except (
        predict.ModelNotFoundError,
        predict.ModelLoadError,
        score.ScoreInputError,
        score.OutputExistsError,
        ImdbDataError,
    ) as error:
        print(f"imdb-pipeline score: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        logger.error("Scoring failed", exc_info=args.verbose)
        print(f"imdb-pipeline score: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"scored {summary.scored} reviews of {args.input} with {summary.model}, {summary.describe()}: "
        f"{args.output}"
    )
    return EXIT_OK


def _add_neighbors_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "neighbors",
        allow_abbrev=False,  # `--out` is refused with the closest option, as in run, never guessed
        help="nearest neighbours of words in a pushed model's embeddings",
        description=(
            "Print the K vocabulary words nearest to each WORD by cosine similarity, exact search, "
            "in the embeddings pushed with the model (after training, or as injected with --injected)."
        ),
    )
    _add_shared(parser, "model")
    parser.add_argument("--k", type=_positive_int, default=10, help="neighbours per word (default: 10)")
    parser.add_argument(
        "--injected",
        action="store_true",
        help="search the embeddings as injected (aligned word vectors) instead of as trained",
    )
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word")
    return parser


def _neighbors(args: argparse.Namespace) -> int:
    from pipeline import predict

    try:
        words = [review.text for review in predict.reviews_from_arguments(args.words)]
    except predict.InputError as error:
        print(
            f"imdb-pipeline neighbors: {str(error).replace('TEXT argument', 'WORD argument')}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    _import_tensorflow(serving_only=True)
    from components.neighbors import (
        INJECTED,
        TRAINED,
        EmbeddingsNotFoundError,
        EmbeddingsUnreadableError,
        UnknownWordError,
        nearest_neighbors,
    )
    from pipeline.neighbors import load_embeddings

    try:
        embeddings = load_embeddings(args.model, INJECTED if args.injected else TRAINED)
        neighbors = nearest_neighbors(embeddings, words, k=args.k)
    except (
        predict.ModelNotFoundError,
        EmbeddingsNotFoundError,
        EmbeddingsUnreadableError,
        UnknownWordError,
    ) as error:
        print(f"imdb-pipeline neighbors: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"# cosine similarity in {embeddings.source}")
    for word, found in neighbors.items():
        print(word if found else f"{word}: no neighbours (its vector is all zeros)")
        for neighbor, cosine in found:
            print(f"  {cosine:.4f}  {neighbor if neighbor.isprintable() else repr(neighbor)}")
    return EXIT_OK


def _add_report_parser(subparsers) -> None:
    from pipeline import config as config_module

    parser = subparsers.add_parser(
        "report",
        allow_abbrev=False,  # `--out` is refused with the closest option, as in run, never guessed
        help="re-render the report of a run and the index of runs",
        description=(
            "Render the report of a run (the newest by default) from its artifacts, found through ML "
            "Metadata, into OUTPUT/reports/<run>/report.html, and list every run with its key metrics "
            "in OUTPUT/reports/index.html."
        ),
    )
    parser.add_argument(
        "--output",
        default=config_module.DEFAULT_OUTPUT,
        help=f"the output directory of the runs (default: ./{config_module.DEFAULT_OUTPUT})",
    )
    parser.add_argument("--run", help="run id (as listed in the index; default: the newest run)")
    parser.add_argument("--pipeline-name", dest="pipeline_name", help="only runs of this pipeline")


def _report(args: argparse.Namespace) -> int:
    _configure_logging(verbose=False)
    _import_tensorflow()
    from pipeline import reports
    from pipeline.config import absolute_path

    output = absolute_path(args.output)
    try:
        path = reports.render_run(output, args.run, args.pipeline_name)
        index = reports.write_index(output, args.pipeline_name)
    except reports.RunNotFoundError as error:
        print(f"imdb-pipeline report: {error}", file=sys.stderr)
        return EXIT_USAGE
    except reports.ReportError as error:
        print(f"imdb-pipeline report: FAILED: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"report: {path}")
    print(f"index:  {index}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imdb-pipeline",
        description="IMDb sentiment: a TFX pipeline with pretrained or word2vec embeddings injected into Keras.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_run_parser(subparsers)
    _add_compile_parser(subparsers)
    _add_predict_parser(subparsers)
    _add_score_parser(subparsers)
    _add_neighbors_parser(subparsers)
    _add_report_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``imdb-pipeline`` console script; returns the exit code."""
    freeze_gc_at_exit()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()  # imports no TensorFlow
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


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> int:
    command_parser = _subparser(parser, args.command)
    if args.command == "run":
        return _run(args, unknown, command_parser)
    if args.command == "compile":
        return _compile(args, unknown, command_parser)
    if args.command == "score":
        return _score(args, unknown, command_parser)
    if unknown:
        from pipeline.config import closest

        known = [option for option in _option_strings(command_parser) if option.startswith("--")]
        problems = []
        for arg in unknown:
            suggestion = closest(arg.split("=", 1)[0], known) if arg.startswith("--") else None
            problems.append(arg + (f" (did you mean {suggestion}?)" if suggestion else ""))
        command_parser.error(f"unrecognized arguments: {', '.join(problems)}")
    if args.command == "neighbors":
        return _neighbors(args)
    if args.command == "report":
        return _report(args)
    return _predict(args)


if __name__ == "__main__":
    sys.exit(main())
