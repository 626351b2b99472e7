"""The ``imdb-pipeline`` command line.

``imdb-pipeline run`` runs the whole pipeline locally with TFX's LocalDagRunner;
``imdb-pipeline predict`` classifies text with a pushed model. Unknown
``--flags`` given to ``run`` are passed untouched to every Beam-based step.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import dataclasses
import logging
import os
import re
import sys
import typing

from pipeline.shutdown import freeze_gc_at_exit

logger = logging.getLogger("pipeline")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUSY = 3

_PROJECT_LOGGERS = ("pipeline", "components", "schemas")


def _attribute_docs(cls: type) -> dict[str, str]:
    """Field descriptions from the ``Attributes:`` section of a Google-style docstring."""
    docs: dict[str, str] = {}
    lines = (cls.__doc__ or "").splitlines()
    current = None
    in_attributes = False
    for line in lines:
        stripped = line.strip()
        if stripped == "Attributes:":
            in_attributes = True
            continue
        if not in_attributes:
            continue
        match = re.match(r"^(\w+): (.*)$", stripped)
        if match and match.group(1) in {f.name for f in dataclasses.fields(cls)}:
            current = match.group(1)
            docs[current] = match.group(2)
        elif stripped and current:
            docs[current] += " " + stripped
        elif not stripped and current:
            current = None
    return docs


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


def _flag_type(hint: typing.Any):
    if hint is bool:
        return _parse_bool
    if typing.get_origin(hint) is tuple:
        return _int_list
    return hint


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that build a PipelineConfig, shared by ``run`` and ``compile``."""
    from pipeline import config as config_module

    parser.add_argument(
        "--data",
        help=(
            "IMDb dataset: an aclImdb/ directory or the aclImdb_v1.tar.gz archive, or spans such as "
            "'/data/span-{SPAN}/aclImdb_v1.tar.gz' (default: the bundled sample)"
        ),
    )
    parser.add_argument(
        "--vectors", help="pretrained word-vector file (default: train word2vec on the run's text)"
    )
    parser.add_argument(
        "--output",
        help=(
            "directory for the pipeline root, metadata store and serving root "
            f"(default: ./{config_module.DEFAULT_OUTPUT})"
        ),
    )
    parser.add_argument("--config", help="YAML configuration file (flags override it)")
    parser.add_argument("--pipeline-name", dest="pipeline_name", help="TFX pipeline name")
    parser.add_argument("--model-name", dest="model_name", help="model folder under the serving root")
    parser.add_argument(
        "--eval-percent",
        dest="eval_percent",
        type=int,
        help="percent of training reviews, grouped by movie, held out for validation (default 10)",
    )
    parser.add_argument("--span", type=int, help="ingest this span instead of the newest (data with {SPAN})")
    for section, options_class in config_module.SECTIONS.items():
        group = parser.add_argument_group(f"{section} options")
        docs = _attribute_docs(options_class)
        hints = typing.get_type_hints(options_class)
        for field in dataclasses.fields(options_class):
            default = field.default
            if isinstance(default, tuple):
                default = ",".join(str(v) for v in default)
            group.add_argument(
                f"--{section}.{field.name}",
                dest=f"{section}.{field.name}",
                type=_flag_type(hints[field.name]),
                metavar=field.name.upper(),
                help=f"{docs.get(field.name, '')} (default: {default})".replace("%", "%%"),
            )


def _add_run_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "run",
        allow_abbrev=False,
        help="run the whole pipeline locally",
        description=(
            "Run the pipeline with TFX's LocalDagRunner: ingest, validate, transform, embed, train, "
            "evaluate and push. Unknown --flags are passed to Apache Beam (e.g. "
            "--direct_running_mode=multi_processing --direct_num_workers=2, or --runner=DataflowRunner ...). "
            "Exit codes: 0 success (pushed or rightly not pushed), 1 a step failed, 2 usage or "
            "configuration error, 3 another run holds the output directory."
        ),
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="re-run every step even when its inputs did not change"
    )
    parser.add_argument("--verbose", action="store_true", help="show every TFX, Beam and TensorFlow log line")
    parser.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="show the steps, the data the run would ingest and where it would write; run nothing",
    )
    _add_config_arguments(parser)
    return parser


def _add_compile_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compile",
        allow_abbrev=False,
        help="compile the pipeline for Kubeflow Pipelines / Vertex AI Pipelines",
        description=(
            "Compile the same pipeline with TFX's Kubeflow V2 runner into a pipeline job spec (JSON) for "
            "Vertex AI Pipelines or Kubeflow Pipelines 2.x. Paths (--data, --output, --vectors) must be "
            "readable by the cluster, e.g. gs://. Unknown --flags are passed to Apache Beam."
        ),
    )
    parser.add_argument(
        "--output-file", dest="output_file", required=True, help="where to write the spec (.json)"
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
        keys.update(f"{section}.{field.name}" for field in dataclasses.fields(options_class))
    return keys


def config_from_args(args: argparse.Namespace, beam_args: Sequence[str]):
    """Builds the validated PipelineConfig of a ``run`` command line.

    Raises:
        OptionsError: a value is invalid, or an unknown option uses a section
            prefix (a misspelt ``--trainer.epoch`` must not reach Beam silently).
    """
    from components.options import OptionsError
    from pipeline import config as config_module

    misspelt = [
        arg for arg in beam_args if arg.lstrip("-").split("=")[0].split(".")[0] in config_module.SECTIONS
    ]
    if misspelt:
        raise OptionsError(f"unknown option(s): {' '.join(misspelt)}")
    config_keys = _config_keys()
    overrides = {key: value for key, value in vars(args).items() if key in config_keys}
    if beam_args:
        overrides["beam_args"] = list(beam_args)
    file_values = config_module.load_config_file(args.config) if args.config else {}
    return config_module.build_config(file_values, overrides)


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    # Before anything imports TensorFlow, so its log settings apply.
    _configure_logging(args.verbose)
    from components.options import OptionsError

    try:
        config = config_from_args(args, beam_args)
    except OptionsError as error:
        print(f"imdb-pipeline run: configuration error: {error}", file=sys.stderr)
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


def _compile(args: argparse.Namespace, beam_args: list[str]) -> int:
    _configure_logging(verbose=False)
    from components.options import OptionsError
    from pipeline import kubeflow

    try:
        config = config_from_args(args, beam_args)
        if args.schedule:
            kubeflow.validate_cron(args.schedule)
    except (OptionsError, kubeflow.ScheduleError) as error:
        print(f"imdb-pipeline compile: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    spec = kubeflow.compile_pipeline(config, args.output_file, args.image)
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    print(
        f"wrote {args.output_file}: pipeline {config.pipeline_name}, {len(tasks)} tasks, image {args.image}"
    )
    if args.schedule:
        print(kubeflow.schedule_commands(args.output_file, args.schedule, config))
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    from pipeline.predict import ModelNotFoundError, predict

    try:
        probabilities = predict(args.model, args.texts)
    except ModelNotFoundError as error:
        print(f"imdb-pipeline predict: {error}", file=sys.stderr)
        return EXIT_USAGE
    for probability, text in zip(probabilities, args.texts, strict=True):
        print(f"{probability:.4f}\t{text}")
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_neighbors_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "neighbors",
        help="nearest neighbours of words in a pushed model's embeddings",
        description=(
            "Print the K vocabulary words nearest to each WORD by cosine similarity, exact search, "
            "in the embeddings pushed with the model (after training, or as injected with --injected)."
        ),
    )
    parser.add_argument(
        "--model",
        required=True,
        help="a pushed version directory, or the model directory (newest version is used)",
    )
    parser.add_argument("--k", type=_positive_int, default=10, help="neighbours per word (default: 10)")
    parser.add_argument(
        "--injected",
        action="store_true",
        help="search the embeddings as injected (aligned word vectors) instead of as trained",
    )
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word")
    return parser


def _neighbors(args: argparse.Namespace) -> int:
    from components.embeddings.neighbors import (
        INJECTED,
        TRAINED,
        EmbeddingsNotFoundError,
        UnknownWordError,
        load_embeddings,
        nearest_neighbors,
    )
    from pipeline.predict import ModelNotFoundError

    try:
        embeddings = load_embeddings(args.model, INJECTED if args.injected else TRAINED)
        neighbors = nearest_neighbors(embeddings, args.words, k=args.k)
    except (ModelNotFoundError, EmbeddingsNotFoundError, UnknownWordError) as error:
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
    from pipeline import reports

    try:
        path = reports.render_run(args.output, args.run, args.pipeline_name)
        index = reports.write_index(args.output, args.pipeline_name)
    except reports.RunNotFoundError as error:
        print(f"imdb-pipeline report: {error}", file=sys.stderr)
        return EXIT_USAGE
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
    predict_parser = subparsers.add_parser(
        "predict",
        help="classify review texts with a pushed model",
        description="Print the positive-class probability of each TEXT, one per line.",
    )
    predict_parser.add_argument(
        "--model",
        required=True,
        help="a pushed version directory, or the model directory (newest version is used)",
    )
    predict_parser.add_argument("texts", nargs="+", metavar="TEXT", help="review text")
    _add_neighbors_parser(subparsers)
    _add_report_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``imdb-pipeline`` console script; returns the exit code."""
    freeze_gc_at_exit()
    argv = list(sys.argv[1:] if argv is None else argv)
    # TensorFlow reads its C++ log level once, when first imported.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if "--verbose" in argv else "2")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "run":
        return _run(args, unknown)
    if args.command == "compile":
        return _compile(args, unknown)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "neighbors":
        return _neighbors(args)
    if args.command == "report":
        return _report(args)
    return _predict(args)


if __name__ == "__main__":
    sys.exit(main())
