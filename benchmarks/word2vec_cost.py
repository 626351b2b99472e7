"""What the Word2Vec step costs, part by part, and how epochs, threads and corpus change it.

Runs the Word2Vec step's own code on an ExampleGen output (no TFX launcher, no
ML Metadata), in one process, one part after the other:

1. the corpus: the Beam pipeline that reads the reviews of the given splits and
   writes them tokenised (``BuildCorpus``), once per corpus; with ``--profile``
   the first corpus is also built under cProfile, whose top functions split
   its time into reading, tokenising and writing;
2. gensim's vocabulary scan (``build_vocab``) and training, for every
   combination of ``--epochs``, ``--workers``, ``--corpus`` and ``--set`` given
   (each ``--set`` overrides other word2vec options, ``name=value`` separated by
   spaces, such as ``"negative=2 sample=0.0001"``; without one, the step's
   defaults);
3. writing the vectors in word2vec text format, once.

For each it prints wall and CPU seconds (CPU counts every thread of the
process; on a machine shared with other jobs CPU is the figure that compares).
With one worker, runs with the same corpus and seed give identical vectors;
the table says whether each run's vectors equal those of the first ``--workers``
count with the same corpus and epochs (``--workers 1 1`` checks that one worker
repeats itself). Not part of the tests. Usage (from the repository root)::

    .venv/bin/python benchmarks/word2vec_cost.py --examples ROOT/FileBasedExampleGen/examples/1 \\
        [--epochs 5 3 2] [--workers 1 2] [--corpus train+unsup train] [--set "negative=5 sample=0.001"] \\
        [--profile] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import itertools
import json
import os
from pathlib import Path
import pstats
import tempfile
import time

DEFAULT_EPOCHS = (5, 3, 2)
DEFAULT_WORKERS = (1, 2)
DEFAULT_CORPORA = ("train+unsup", "train")


@contextlib.contextmanager
def measured(figures: dict):
    """Adds ``wall`` and ``cpu`` (every thread of this process) seconds of the block to ``figures``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    figures["wall"] = time.perf_counter() - wall
    figures["cpu"] = time.process_time() - cpu


def build_corpus(examples: str, splits: list[str], corpus_path: str) -> None:
    """The Word2Vec executor's Beam pipeline on ``splits`` of ``examples``, with the pipeline's default runner."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.embeddings.word2vec import BuildCorpus
    from components.file_patterns import all_files_pattern
    from pipeline.config import DEFAULT_RUNNER_ARG

    patterns = [all_files_pattern(os.path.join(examples, f"Split-{split}")) for split in splits]
    with beam.Pipeline(options=PipelineOptions([DEFAULT_RUNNER_ARG])) as pipeline:
        _ = pipeline | "BuildCorpus" >> BuildCorpus(patterns, corpus_path)


def top_functions(profile: cProfile.Profile, count: int) -> str:
    """The ``count`` functions with the most cumulative time, as pstats prints them."""
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(count)
    return text.getvalue()


def parse_set(text: str) -> dict:
    """``"negative=2 sample=0.0001"`` -> ``{"negative": 2, "sample": 0.0001}`` (values are JSON, or text)."""
    overrides = {}
    for item in text.split():
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise argparse.ArgumentTypeError(f"--set: expected name=value, got {item!r}")
        try:
            overrides[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides[name] = value
    return overrides


def train(corpus_path: str, epochs: int, workers: int, overrides: dict | None = None):
    """gensim as ``train_word2vec`` runs it (other options at their defaults, or ``overrides``): the model,
    vocabulary and training seconds."""
    from components.embeddings.options import Word2VecOptions
    from components.embeddings.word2vec import new_model

    model = new_model(Word2VecOptions(**{**(overrides or {}), "epochs": epochs, "workers": workers}))
    vocab: dict = {}
    with measured(vocab):
        model.build_vocab(corpus_file=corpus_path)
    training: dict = {}
    with measured(training):
        model.train(
            corpus_file=corpus_path,
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=model.epochs,
        )
    return model, vocab, training


def compare_vectors(first_vectors: dict, key: tuple, workers: int, vectors) -> str | None:
    """Whether ``vectors`` equal the first ones of ``key`` (kept in ``first_vectors``); None for the first."""
    if key not in first_vectors:
        first_vectors[key] = (workers, vectors.copy())
        return None
    first_workers, first = first_vectors[key]
    verdict = "same vectors as" if (first == vectors).all() else "vectors differ from"
    return f"{verdict} {first_workers} workers'"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", required=True, help="an Examples artifact's folder (Split-* inside)")
    parser.add_argument("--epochs", type=int, nargs="+", default=list(DEFAULT_EPOCHS), help="epoch counts")
    parser.add_argument("--workers", type=int, nargs="+", default=list(DEFAULT_WORKERS), help="thread counts")
    parser.add_argument(
        "--corpus",
        nargs="+",
        default=list(DEFAULT_CORPORA),
        help="corpora, each a '+'-joined list of splits (default: train+unsup train)",
    )
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        type=parse_set,
        help="other word2vec options for the training runs, 'name=value ...' (repeatable; default: the step's)",
    )
    parser.add_argument("--profile", action="store_true", help="build the first corpus under cProfile too")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    sets = args.sets or [{}]
    from components.embeddings.options import Word2VecOptions
    from components.options import OptionsError

    for overrides in sets:
        try:
            Word2VecOptions(**overrides)
        except OptionsError as error:
            parser.error(f"--set: {error}")

    from components.embeddings.word2vec import save_vectors

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="word2vec-cost-") as scratch:
        corpora = {}
        for index, corpus in enumerate(args.corpus):
            corpus_path = os.path.join(scratch, f"corpus-{index}.txt")
            figures = {"part": f"corpus {corpus} (Beam: read, tokenise, write)"}
            with measured(figures):
                build_corpus(args.examples, corpus.split("+"), corpus_path)
            figures["megabytes"] = os.path.getsize(corpus_path) / 1e6
            rows.append(figures)
            corpora[corpus] = corpus_path
            if args.profile and index == 0:
                profile = cProfile.Profile()
                profile.runcall(
                    build_corpus, args.examples, corpus.split("+"), os.path.join(scratch, "p.txt")
                )
                print(f"cProfile of the corpus {corpus}, top functions by cumulative time:")
                print(top_functions(profile, 40))

        first_vectors: dict = {}
        saved = False
        for corpus, corpus_path in corpora.items():
            for overrides, epochs, workers in itertools.product(sets, args.epochs, args.workers):
                model, vocab, training = train(corpus_path, epochs, workers, overrides)
                set_key = " ".join(f"{name}={value}" for name, value in overrides.items())
                compared = compare_vectors(
                    first_vectors, (corpus, epochs, set_key), workers, model.wv.vectors
                )
                label = f"{corpus}, {epochs} epochs, {workers} workers" + (f", {set_key}" if set_key else "")
                rows.append({"part": f"build_vocab {label}", **vocab})
                rows.append(
                    {
                        "part": f"train {label}",
                        **training,
                        "reviews": model.corpus_count,
                        "tokens": model.corpus_total_words,
                        "words": len(model.wv),
                        "compared": compared,
                    }
                )
                if not saved:
                    figures = {"part": f"save_vectors ({len(model.wv):,} words)"}
                    with measured(figures):
                        save_vectors(model.wv, os.path.join(scratch, "vectors.txt"))
                    rows.append(figures)
                    saved = True
                print(f"done: {label}", flush=True)

    print(f"\nWord2Vec on {args.examples}:")
    print(f"{'part':<62} {'wall s':>7} {'CPU s':>7}  notes")
    for row in rows:
        notes = []
        if "megabytes" in row:
            notes.append(f"{row['megabytes']:.0f} MB")
        if "tokens" in row:
            notes.append(f"{row['reviews']:,} reviews, {row['tokens']:,} tokens, {row['words']:,} words")
        if row.get("compared"):
            notes.append(row["compared"])
        print(f"{row['part']:<62} {row['wall']:>7.1f} {row['cpu']:>7.1f}  {'; '.join(notes)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
