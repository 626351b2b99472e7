"""What ``imdb-pipeline predict`` costs a user: start-up, and reviews per second from a file.

Each figure is one fresh process of the console script, as a user runs it
(median of ``--repeat`` runs), beside a reference measured in the same run:
``python -c "import tensorflow"``, the floor any TensorFlow command pays.

* start-up: ``predict --model M "one review"``, wall time and peak memory;
* file: ``predict --model M --input FILE`` on a file of ``--reviews`` lines
  (25,000 by default: the official test split of ``--data``, or the bundled
  sample's reviews repeated when no archive is given), output discarded; its
  throughput is given over the whole command and without the start-up.

Not part of the tests. Usage, after ``make run`` (from the repository root)::

    .venv/bin/python benchmarks/predict_cli.py --model imdb-pipeline-output/serving/imdb_sentiment
        [--data aclImdb_v1.tar.gz] [--reviews 25000] [--repeat 3] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE = REPOSITORY / "pipeline" / "data" / "aclImdb_sample.tar.gz"
CLI = Path(sys.executable).with_name("imdb-pipeline")
_TEST_REVIEW = re.compile(r"(?:^|/)test/(pos|neg)/\d+_\d+\.txt$")
_ANY_REVIEW = re.compile(r"(?:^|/)(train|test|unsup)/(pos|neg|unsup)/\d+_\d+\.txt$")


def read_reviews(archive: Path, pattern: re.Pattern) -> list[str]:
    """Review texts of the archive members matching ``pattern``, one line each."""
    texts = []
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and pattern.search(member.name):
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                texts.append(" ".join(text.split()))
    return texts


def timed(command: list[str], stdin=None) -> tuple[float, float]:
    """Runs ``command`` to completion; returns (wall seconds, peak resident memory in MB) of that process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} ... failed (exit {process.returncode}):\n{stderr[-2000:]}")
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return seconds, usage.ru_maxrss / divisor


def median_of(repeat: int, command: list[str]) -> tuple[float, float]:
    runs = [timed(command) for _ in range(repeat)]
    return statistics.median(s for s, _ in runs), max(m for _, m in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="pushed model directory (or a version directory)")
    parser.add_argument(
        "--data", help="aclImdb_v1.tar.gz: score its test reviews (default: the bundled sample)"
    )
    parser.add_argument(
        "--reviews", type=int, default=25_000, help="lines in the scored file (default 25000)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is shown")
    parser.add_argument("--batch-size", type=int, default=256, help="predict --batch-size")
    args = parser.parse_args()

    source = Path(args.data) if args.data else SAMPLE
    texts = read_reviews(source, _TEST_REVIEW if args.data else _ANY_REVIEW)
    if not texts:
        parser.error(f"no reviews in {source}")
    with tempfile.TemporaryDirectory(prefix="predict-benchmark-") as workdir:
        reviews_file = Path(workdir) / "reviews.txt"
        lines = itertools.islice(itertools.cycle(texts), args.reviews)
        reviews_file.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        size_mb = reviews_file.stat().st_size / 1e6

        print(f"reviews: {args.reviews:,} lines ({size_mb:.1f} MB) from {source.name}; model {args.model}")
        reference, reference_mb = median_of(args.repeat, [sys.executable, "-c", "import tensorflow"])
        startup, startup_mb = median_of(
            args.repeat, [str(CLI), "predict", "--model", args.model, "a wonderful, moving masterpiece"]
        )
        whole, whole_mb = median_of(
            args.repeat,
            [
                str(CLI),
                "predict",
                "--model",
                args.model,
                "--input",
                str(reviews_file),
                "--batch-size",
                str(args.batch_size),
            ],
        )
    rows = [
        ("reference: python -c 'import tensorflow'", f"{reference:.2f} s", "", f"{reference_mb:,.0f} MB"),
        ("predict, one review (start-up)", f"{startup:.2f} s", "", f"{startup_mb:,.0f} MB"),
        (
            f"predict --input, {args.reviews:,} reviews",
            f"{whole:.2f} s",
            f"{args.reviews / whole:,.0f} reviews/s ({args.reviews / max(whole - startup, 1e-9):,.0f} "
            "without start-up)",
            f"{whole_mb:,.0f} MB",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print(f"median of {args.repeat} fresh processes each; peak memory is the largest of them")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
