"""``imdb-pipeline neighbors``: nearest words in a pushed model's embeddings."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import EXIT_OK, EXIT_USAGE, _add_shared, _import_tensorflow, _positive_int


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
