"""Throughput of ``imdb-pipeline score`` (Beam RunInference) beside ``imdb-pipeline predict``.

The 25,000 test reviews and the 50,000 unsup reviews of ``aclImdb_v1.tar.gz``
(by default ``../shared/data/aclImdb_v1.tar.gz`` beside the repository; the
script says so and stops when it is absent) are written to two JSON Lines
files. Each file is scored, each in a fresh process of the console script:

* reference: ``predict --input FILE --format jsonl`` (one process, batches of 256);
* ``score`` with the in-process direct runner (FnApiRunner, one worker);
* ``score`` with ``--direct_running_mode=multi_processing --direct_num_workers=2``.

For each: the start-up (the same command on one review), wall seconds
(start-up included), reviews per second over the whole command and after the
start-up, and CPU seconds over wall seconds (about 2 when both cores work and
nothing else runs). The scores of every
run are checked against the reference (largest absolute difference shown).

Not part of the tests. Usage (from the repository root)::

    .venv/bin/python benchmarks/score_throughput.py --model imdb-pipeline-output/serving/imdb_sentiment
        [--data aclImdb_v1.tar.gz] [--limit 2000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import re
import subprocess
import sys
import tarfile
import tempfile
import time

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPOSITORY.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
CLI = Path(sys.executable).with_name("imdb-pipeline")
SETS = {
    "test": re.compile(r"(?:^|/)test/(pos|neg)/\d+_\d+\.txt$"),
    "unsup": re.compile(r"(?:^|/)train/unsup/\d+_\d+\.txt$"),
}
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


def write_sets(archive: Path, folder: Path, limit: int | None) -> dict[str, tuple[Path, int]]:
    """Writes ``<set>.jsonl`` per set (the first ``limit`` reviews in archive order); returns path and count."""
    records: dict[str, list[str]] = {name: [] for name in SETS}
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile():
                continue
            for name, pattern in SETS.items():
                if pattern.search(member.name) and (limit is None or len(records[name]) < limit):
                    text = tar.extractfile(member).read().decode("utf-8")
                    records[name].append(json.dumps({"text": text}, ensure_ascii=False))
    written = {}
    for name, lines in records.items():
        path = folder / f"{name}.jsonl"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        written[name] = (path, len(lines))
    return written


def timed(command: list[str], stdout) -> tuple[float, float]:
    """Runs ``command``; returns (wall seconds, CPU seconds of it and every process it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read().decode("utf-8", "replace")
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command[:3])} ... failed:\n{stderr[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def _predict_output(output: Path) -> Path:
    return output.with_name(f"{output.name}.predict.jsonl")


def _lines(path: Path) -> list[str]:
    """The lines of a JSON Lines file (split at \\n only: a review may hold U+2028 and the like)."""
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def predictions_by_line(output: Path) -> dict[int, float]:
    scores = {}
    for shard in sorted(output.glob("predictions-*.jsonl")):
        for line in _lines(shard):
            row = json.loads(line)
            scores[row["line"]] = row["probability"]
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="pushed model directory (or a version directory)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"the archive (default: {DEFAULT_DATA})"
    )
    parser.add_argument("--limit", type=int, help="at most this many reviews per set (default: all)")
    parser.add_argument(
        "--workdir", type=Path, help="where to write inputs and outputs (default: a temp dir)"
    )
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skipped: {args.data} is absent (the full IMDb archive is needed)")
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="score-benchmark-"))
    workdir.mkdir(parents=True, exist_ok=True)
    sets = write_sets(args.data, workdir, args.limit)
    one = workdir / "one.jsonl"
    one.write_text(json.dumps({"text": "a wonderful, moving masterpiece"}) + "\n", encoding="utf-8")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; model {args.model}")

    def predict(path: Path, out: Path) -> tuple[float, float]:
        with open(out, "wb") as stdout:
            return timed(
                [str(CLI), "predict", "--model", args.model, "--input", str(path), "--format", "jsonl"],
                stdout,
            )

    def score(path: Path, out: Path, flags: list[str]) -> tuple[float, float]:
        command = [
            str(CLI),
            "score",
            "--model",
            args.model,
            "--input",
            str(path),
            "--output",
            str(out),
            *flags,
        ]
        return timed(command, subprocess.DEVNULL)

    methods = {
        "predict (reference)": lambda path, out: predict(path, _predict_output(out)),
        "score, direct runner": lambda path, out: score(path, out, []),
        "score, direct multi_processing x2": lambda path, out: score(path, out, MULTI_PROCESSING),
    }
    print(
        f"{'set':<6} {'reviews':>7}  {'how':<34} {'start-up s':>10} {'wall s':>7} {'reviews/s':>9} "
        f"{'after start-up':>14} {'cpu/wall':>8} {'max |diff|':>10}"
    )
    for name, (path, count) in sets.items():
        reference: dict[int, float] = {}
        for index, (how, run) in enumerate(methods.items()):
            output = workdir / f"{name}.{index}"
            # Start-up (the same command on one review), just before: subtracted for the scoring alone.
            startup, _ = run(one, workdir / f"{name}.{index}.one")
            seconds, cpu = run(path, output)
            if index == 0:
                reference = {
                    number: json.loads(line)["probability"]
                    for number, line in enumerate(_lines(_predict_output(output)), start=1)
                }
                if len(reference) != count:
                    raise SystemExit(f"predict on {name}: {len(reference)} lines for {count} reviews")
                diff = ""
            else:
                scores = predictions_by_line(output)
                if scores.keys() != reference.keys():
                    raise SystemExit(
                        f"{how} on {name}: scored {len(scores)} reviews, predict {len(reference)}"
                    )
                diff = f"{max(abs(scores[line] - reference[line]) for line in reference):.1e}"
            after = f"{(count - 1) / (seconds - startup):.0f}" if seconds > startup else "n/a"
            print(
                f"{name:<6} {count:>7}  {how:<34} {startup:>10.1f} {seconds:>7.1f} {count / seconds:>9.0f} "
                f"{after:>14} {cpu / seconds:>8.2f} {diff:>10}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
