"""``imdb-pipeline neighbors``: nearest words in a pushed model's embeddings."""

from __future__ import annotations

import argparse

from pipeline.commands import common


def add_parser(subparsers) -> None:
    parser = common.add_command(
        subparsers,
        "neighbors",
        help="nearest neighbours of words in a pushed model's embeddings",
        description=(
            "Print the K vocabulary words nearest to each WORD by cosine similarity, exact search, "
            "in the embeddings pushed with the model (after training, or as injected with --injected)."
        ),
    )
    common.add_model(parser)
    parser.add_argument("--k", type=common.positive_int, default=10, help="neighbours per word (default: 10)")
    parser.add_argument(
        "--injected",
        action="store_true",
        help="search the embeddings as injected (aligned word vectors) instead of as trained",
    )
    parser.add_argument("words", nargs="+", metavar="WORD", help="query word")


def main(args: argparse.Namespace) -> int:
    from pipeline import predict

    try:
        words = [review.text for review in predict.reviews_from_arguments(args.words, label="WORD")]
    except predict.InputError as error:
        return common.refuse("neighbors", error)
    predict.import_tensorflow()
    from components import neighbors as search
    from pipeline.neighbors import load_embeddings

    try:
        embeddings = load_embeddings(args.model, search.INJECTED if args.injected else search.TRAINED)
        neighbors = search.nearest_neighbors(embeddings, words, k=args.k)
    except (
        predict.ModelNotFoundError,
        search.EmbeddingsNotFoundError,
        search.EmbeddingsUnreadableError,
        search.UnknownWordError,
    ) as error:
        return common.refuse("neighbors", error)
    print(f"# cosine similarity in {embeddings.source}")
    for word, found in neighbors.items():
        print(_shown(word) if found else f"{_shown(word)}: no neighbours (its vector is all zeros)")
        for neighbor, cosine in found:
            print(f"  {cosine:.4f}  {_shown(neighbor)}")
    return common.EXIT_OK


def _shown(word: str) -> str:
    """``word`` as printed on its line: as it is, or its repr when not printable (a line break, a tab)."""
    return word if word.isprintable() else repr(word)
