"""``imdb-pipeline score``: score a large set of reviews in a Beam job."""

from __future__ import annotations

import argparse
import contextlib

from components.plural import counted
from pipeline import interrupts
from pipeline.commands import common


def add_parser(subparsers) -> None:
    from components.example_gen.options import ExampleGenOptions
    from pipeline import predict

    parser = common.add_command(
        subparsers,
        "score",
        help="score a large set of reviews with Beam's RunInference, on any Beam runner",
        description=(
            "Score every review of --input with a pushed model, in a Beam job (RunInference): an IMDb "
            "dataset (archive or folder), a text file (one review per line, or JSON Lines with a text "
            "field), or TFRecords of tf.Examples with a text feature. Writes OUTPUT/predictions-*.jsonl "
            "(or .tfrecord.gz), OUTPUT/quarantine/ (records set aside, with their reason, as ExampleGen "
            "does) and OUTPUT/summary.json. Exit codes: 0 done, 1 the job failed, 2 usage error, missing or damaged model or unreadable input, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)."
        ),
        beam=True,
    )
    common.add_model(
        parser, help="a pushed version directory, or the model directory (newest version, pinned for the job)"
    )
    for flag, what, empty, metavar, help in (
        ("--input", "file or folder", "", "PATH", "the reviews: a file or folder, local or gs://"),
        (
            "--output",
            "folder",
            "name a new or empty folder",
            "FOLDER",
            "a new or empty folder for the results",
        ),
    ):
        parser.add_argument(
            flag, required=True, action=common.Once, what=what, empty=empty, metavar=metavar, help=help
        )
    parser.add_argument(
        "--input-format",
        dest="input_format",
        default="auto",
        help="imdb, lines, jsonl, tfrecord, or auto: from the path (archive or dataset folder: imdb; "
        "'tfrecord' in the name: tfrecord, a folder's other files not read; other files: jsonl if the "
        "first line is a JSON object, else lines) (default: auto)",
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
        type=common.positive_int,
        default=default_bytes,
        help=f"a larger review is set aside as too_large, as in ExampleGen (default: {default_bytes})",
    )
    common.add_batch_size(parser, help="most reviews per call of the model")
    common.add_verbose(parser, help="show every Beam and TensorFlow log line")


def main(args: argparse.Namespace, unknown: list[str], parser: argparse.ArgumentParser) -> int:
    if args.input == "-":
        return common.refuse(
            "score",
            "--input - is standard input, which score does not read: give a file or folder (./- for a file "
            "named -); imdb-pipeline predict reads reviews from standard input (--input - or a lone -)",
        )
    if args.output == "-":
        return common.refuse(
            "score",
            "--output - is standard output, which score does not write: it writes a folder (./- for a folder "
            "named -); imdb-pipeline predict prints to standard output",
        )
    common.configure_logging(args.verbose)
    from pipeline.cli import UsageError, split_beam_args

    try:
        beam_args = split_beam_args(unknown, parser)
    except UsageError as error:
        return common.refuse("score", f"error: {error} (see imdb-pipeline score --help)")
    from pipeline import predict

    predict.import_tensorflow(verbose=args.verbose, serving_only=False)
    from components.example_gen.errors import ImdbDataError
    from components.options import OptionsError, check_text
    from pipeline import score
    from pipeline.config import absolute_path

    try:
        # Beam's file systems and the summary's json take only UTF-8 paths.
        for option, value in (("--model", args.model), ("--input", args.input), ("--output", args.output)):
            check_text(option, value)
        if args.format not in score.OUTPUT_FORMATS:
            raise score.ScoreInputError(
                f"--format must be one of {', '.join(score.OUTPUT_FORMATS)}, got {args.format!r}"
            )
        source = score.resolve_input(args.input, args.input_format)
        model_dir = predict.Classifier(args.model).version_dir
        score.check_output(args.output, args.input)
        output = absolute_path(args.output)  # '..' after a link as the OS reads it, not as Beam's paths do
        job = score.ScoreJob(
            model_dir, args.input, source, output, args.format, args.batch_size, args.max_review_bytes
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
        OptionsError,
    ) as error:
        return common.refuse("score", error)
    except Exception as error:
        interrupts.raise_if_received()  # a failure that a signal caused
        common.logger.error("Scoring failed", exc_info=args.verbose)
        return common.refuse("score", f"FAILED: {type(error).__name__}: {error}", common.EXIT_FAILED)
    print(
        f"scored {counted(summary.scored, 'review')} of {args.input} with {summary.model}, {summary.describe()}: "
        f"{args.output}"
    )
    return common.EXIT_OK
