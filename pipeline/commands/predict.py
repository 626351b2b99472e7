"""``imdb-pipeline predict``: classify text with a pushed model."""

from __future__ import annotations

import argparse
import contextlib
import sys

from pipeline.commands import common


def add_parser(subparsers) -> None:
    from pipeline import predict

    parser = common.add_command(
        subparsers,
        "predict",
        help="classify review texts with a pushed model",
        description=(
            "Print the positive-class probability of each review: from the TEXT arguments, or from "
            "--input FILE (one review per line, or JSON Lines with a text field; - or a lone TEXT - "
            "reads standard input), scored in batches. Output: one line per review, in input order: "
            "tsv (probability to 4 decimals, a tab, the text with \\, tabs, line breaks and control "
            "characters escaped) or "
            "jsonl (the input record's fields, text and probability). Exit code 2 for a missing or "
            "damaged model or an unreadable review (the message names it)."
        ),
    )
    common.add_model(parser)
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="review text")
    parser.add_argument(
        "--input",
        metavar="FILE",
        action=common.Once,
        what="file",
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
    common.add_batch_size(parser)
    common.add_verbose(parser, help="show TensorFlow's start-up log lines on stderr")


def main(args: argparse.Namespace) -> int:
    from pipeline import predict

    texts, source = list(args.texts), args.input
    # A lone TEXT - is --input -: standard input, read once, holds every review.
    if texts.count(predict.STDIN) + (source == predict.STDIN) > 1:
        return common.refuse("predict", "- (standard input) is given twice; it can be read once: give - once")
    if texts == [predict.STDIN] and source is None:
        source, texts = predict.STDIN, []
    elif predict.STDIN in texts:
        return common.refuse(
            "predict",
            f"TEXT argument {texts.index(predict.STDIN) + 1} is - (reviews from standard input): give - alone, "
            "without review texts or --input (a review that is - itself goes on standard input)",
        )
    if (source is None) == (not texts):
        return common.refuse(
            "predict",
            f"{'no reviews: give' if source is None else 'give'} review texts as arguments, or --input FILE "
            "(one review per line, or JSON Lines with a text field; - for standard input)"
            f"{'' if source is None else ', not both'}",
        )
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
            predict.import_tensorflow(verbose=args.verbose)
            classifier = predict.Classifier(args.model)
            predict.score(classifier, reviews, args.format, sys.stdout, batch_size=args.batch_size)
    except (predict.ModelNotFoundError, predict.ModelLoadError, predict.InputError) as error:
        sys.stdout.flush()
        return common.refuse("predict", error)
    return common.EXIT_OK
