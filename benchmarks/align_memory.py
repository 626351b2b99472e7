"""Peak memory and time of the alignment step on a vector file 20x the vocabulary.

The EmbeddingAligner streams the vector file and keeps only vocabulary rows, so
its memory should be the vocabulary matrix plus the libraries, whatever the
file size. This script checks that on generated data: a 20,000-word vocabulary
(with train-split token counts, as the Transform writes them) and a 400,000 x
300 vector file (20x the vocabulary) in each format, then runs the alignment
step of the pipeline (format detection, the streaming reader, ``align``) in a
fresh subprocess per measurement and reports its peak RSS and time beside the
file size. For contrast, the last row loads the binary file whole with gensim,
as a non-streaming reader would.

A third of the vocabulary is in the file as spelled, a third capitalised
(matched by the lower-case fallback, through the Transform's normaliser) and a
third not at all; the other 19 of every 20 file words are not vocabulary words.

Usage (from the repository root, about 3 minutes and 2.5 GB of disk)::

    .venv/bin/python benchmarks/align_memory.py [--vocabulary 20000] [--factor 20] [--dimension 300]
        [--formats glove,word2vec_binary] [--gzip] [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path
import shutil
import sys
import tempfile
import time

from _measure import peak_rss_mb, run_child
import numpy as np

REPOSITORY = Path(__file__).resolve().parents[1]
_POOL_SIZE = 1 << 16
_ROWS_PER_WRITE = 10_000


# --- Data ------------------------------------------------------------------------


def _file_words(vocabulary: list[str], factor: int) -> list[str]:
    """``factor`` lines per vocabulary word: a third of the vocabulary exact, a third capitalised."""
    words = []
    for j, word in enumerate(vocabulary):
        if j % 3 == 0:
            words.append(word)
        elif j % 3 == 1:
            words.append(word.capitalize())
        else:
            words.append(f"other{j}")
        words.extend(f"other{j}x{i}" for i in range(1, factor))
    return words


def _rows(lines: int, dimension: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for start in range(0, lines, _ROWS_PER_WRITE):
        count = min(_ROWS_PER_WRITE, lines - start)
        yield start, rng.standard_normal((count, dimension), dtype=np.float32)


def write_glove(path: Path, words: list[str], dimension: int, compress: bool) -> None:
    """GloVe text; values drawn from a pool of pre-formatted numbers (formatting is the slow part)."""
    rng = np.random.default_rng(1)
    pool_values = rng.standard_normal(_POOL_SIZE).astype(np.float32)
    pool = np.array([f"{value:.5f}" for value in pool_values], dtype=object)
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as f:
        for start in range(0, len(words), _ROWS_PER_WRITE):
            count = min(_ROWS_PER_WRITE, len(words) - start)
            indices = rng.integers(0, _POOL_SIZE, size=(count, dimension))
            f.write(
                "".join(f"{words[start + i]} {' '.join(pool[indices[i]].tolist())}\n" for i in range(count))
            )


def write_word2vec_binary(path: Path, words: list[str], dimension: int, compress: bool) -> None:
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(f"{len(words)} {dimension}\n".encode())
        for start, rows in _rows(len(words), dimension):
            f.write(
                b"".join(
                    words[start + i].encode("utf-8") + b" " + rows[i].astype("<f4").tobytes() + b"\n"
                    for i in range(len(rows))
                )
            )


WRITERS = {
    "glove": (write_glove, "vectors.txt"),
    "word2vec_binary": (write_word2vec_binary, "vectors.bin"),
}


# --- One measurement, in its own process -------------------------------------------


def measure(kind: str, path: str, vocabulary_path: str, counts_path: str) -> dict:
    """Runs in the child process: imports, then the alignment step, reporting RSS and time."""
    sys.path.insert(0, str(REPOSITORY))
    if kind == "gensim-load":
        from gensim.models import KeyedVectors

        baseline = peak_rss_mb()
        started = time.monotonic()
        vectors = KeyedVectors.load_word2vec_format(path, binary=True)
        seconds = time.monotonic() - started
        return {
            "seconds": seconds,
            "baseline_mb": baseline,
            "peak_mb": peak_rss_mb(),
            "vectors": len(vectors),
        }

    from components.artifacts.transform_graph import read_token_counts
    from components.embeddings import vector_files
    from components.embeddings.align import align
    from components.embeddings.options import EmbeddingOptions

    vocabulary = Path(vocabulary_path).read_text(encoding="utf-8").split("\n")[:-1]
    counts = read_token_counts(counts_path)
    baseline = peak_rss_mb()
    started = time.monotonic()
    vector_format = vector_files.detect_format(path)
    matrix, coverage = align(
        vocabulary, vector_files.iter_vectors(path, vector_format), EmbeddingOptions(), counts
    )
    seconds = time.monotonic() - started
    return {
        "seconds": seconds,
        "baseline_mb": baseline,
        "peak_mb": peak_rss_mb(),
        "format": vector_format,
        "vectors": coverage.vectors_read,
        "matrix_mb": matrix.nbytes / 1e6,
        "exact": coverage.exact,
        "lowercase": coverage.lowercase,
        "missing": coverage.missing,
    }


def _run_child(kind: str, path: Path, vocabulary_path: Path, counts_path: Path) -> dict:
    return run_child(
        __file__,
        ["--measure", kind, str(path), str(vocabulary_path), str(counts_path)],
        f"measurement {kind} on {path}",
        env={"TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocabulary", type=int, default=20_000, help="vocabulary words (default 20000)")
    parser.add_argument("--factor", type=int, default=20, help="vector-file lines per vocabulary word")
    parser.add_argument("--dimension", type=int, default=300)
    parser.add_argument(
        "--formats", default=",".join(WRITERS), help=f"comma-separated, of {', '.join(WRITERS)}"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip-compress the vector files")
    parser.add_argument("--workdir", help="where to write the files (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument(
        "--measure", nargs=4, metavar=("KIND", "PATH", "VOCABULARY", "COUNTS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0

    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="align-memory-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        sys.path.insert(0, str(REPOSITORY))
        from schemas import features

        words = [f"word{i}" for i in range(args.vocabulary)]
        vocabulary_path = workdir / "vocabulary.txt"
        vocabulary_path.write_text("".join(f"{token}\n" for token in [*features.RESERVED_TOKENS, *words]))
        counts_path = workdir / "token_counts"
        counts_path.write_text(
            "".join(f"{args.vocabulary * 10 - i} {word}\n" for i, word in enumerate(words))
        )
        lines = args.vocabulary * args.factor
        file_words = _file_words(words, args.factor)

        results = []
        for name in args.formats.split(","):
            writer, file_name = WRITERS[name]
            path = workdir / (file_name + (".gz" if args.gzip else ""))
            started = time.monotonic()
            writer(path, file_words, args.dimension, args.gzip)
            print(
                f"wrote {path.name} ({path.stat().st_size / 1e6:,.0f} MB) in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            results.append((name, path, _run_child("align", path, vocabulary_path, counts_path)))
        if "word2vec_binary" in args.formats.split(",") and not args.gzip:
            binary = workdir / WRITERS["word2vec_binary"][1]
            results.append(
                (
                    "gensim load (whole file)",
                    binary,
                    _run_child("gensim-load", binary, vocabulary_path, counts_path),
                )
            )

        print(
            f"\nvocabulary {args.vocabulary:,} words; vector files of {lines:,} x {args.dimension} "
            f"({args.factor}x the vocabulary); aligned matrix "
            f"{(args.vocabulary + len(features.RESERVED_TOKENS)) * args.dimension * 4 / 1e6:,.0f} MB\n"
        )
        header = f"{'step':<26} {'file':>9} {'vectors':>9} {'time':>8} {'peak RSS':>9} {'after imports':>14} {'growth':>8}"
        print(header)
        print("-" * len(header))
        for name, path, result in results:
            print(
                f"{name:<26} {path.stat().st_size / 1e6:>6,.0f} MB {result['vectors']:>9,} {result['seconds']:>6.1f} s "
                f"{result['peak_mb']:>6,.0f} MB {result['baseline_mb']:>11,.0f} MB "
                f"{result['peak_mb'] - result['baseline_mb']:>5,.0f} MB"
            )
        first = results[0][2]
        if "exact" in first:
            print(
                f"\ncoverage (every format): {first['exact']:,} exact, {first['lowercase']:,} lower-cased, "
                f"{first['missing']:,} missing"
            )
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
