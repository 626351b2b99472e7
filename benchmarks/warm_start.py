"""Warm start against a cold start on a new span: epochs and time to the same eval accuracy.

The full IMDb train split is cut in two by review id (ids below 6,250 of each
of ``train/pos``, ``train/neg`` and, below 25,000, of ``train/unsup`` in span 1,
the rest in span 2; both spans hold the whole test split and the
``urls_*.txt`` files), written as ``span-1/`` and ``span-2/`` archives. Then,
each in a fresh process, on one output folder:

1. span 1, cold: its model is pushed, and is what a warm start starts from;
2. span 2 with ``--trainer.warm_start true``: starts from span 1's model (its
   vocabulary is span 2's own, so embedding rows are copied by word);
3. span 2, cold (ExampleGen, Transform and word2vec are cache hits of run 2).

For each run: the eval accuracy after each epoch (the Trainer's
``history.json``) and the wall and CPU seconds of training up to that epoch,
counted from the Trainer's log line that ends building the model (the warm
start's reading of the earlier model is inside), from its own log lines;
then the first epoch at which each span-2 run reaches the same eval accuracy
(the lower of the two runs' best), and the test metrics. CPU seconds are the
pipeline process's (all its threads): on a machine shared with other jobs
they compare where wall times do not.

Usage (from the repository root; about 30 minutes on 2 cores)::

    .venv/bin/python benchmarks/warm_start.py --data ../shared/data/aclImdb_v1.tar.gz
        [--work DIR] [--json FILE] [run options such as --trainer.epochs 6 ...]
    .venv/bin/python benchmarks/warm_start.py --tables FILE   # the tables of a --json FILE again
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
from pathlib import Path
import re
import sys
import tarfile
import tempfile
import time

import _measure
from imdb_benchmark import print_table

REPOSITORY = Path(__file__).resolve().parents[1]
ARCHIVE = "aclImdb_v1.tar.gz"
_TRAIN_REVIEW = re.compile(r"(?:^|/)train/(pos|neg|unsup)/(\d+)_\d+\.txt$")
# Span 1 holds train reviews with ids below these (half of each folder), span 2 the others.
CUT = {"pos": 6_250, "neg": 6_250, "unsup": 25_000}


def write_spans(archive: str, root: Path) -> dict[int, int]:
    """Writes ``root/span-1/`` and ``root/span-2/`` archives; returns the train reviews (labelled) of each."""
    counts = {1: 0, 2: 0}
    for span in (1, 2):
        (root / f"span-{span}").mkdir(parents=True, exist_ok=True)
    with (
        tarfile.open(root / "span-1" / ARCHIVE, "w:gz", compresslevel=1) as first,
        tarfile.open(root / "span-2" / ARCHIVE, "w:gz", compresslevel=1) as second,
        tarfile.open(archive, "r|*") as source,
    ):
        outputs = {1: first, 2: second}
        for member in source:
            content = source.extractfile(member).read() if member.isfile() else None
            match = _TRAIN_REVIEW.search(member.name)
            if match:
                span = 1 if int(match.group(2)) < CUT[match.group(1)] else 2
                targets = [span]
                counts[span] += match.group(1) != "unsup"
            else:
                targets = [1, 2]
            for span in targets:
                outputs[span].addfile(member, io.BytesIO(content) if content is not None else None)
    return counts


# ---------------------------------------------------------------- one run, in a fresh process


class _TrainerClock:
    """Wall and CPU seconds of this process at the Trainer's model-built line and at each epoch's line."""

    _BUILT = re.compile(r"^Trainer: \S+.* model, vocabulary ")
    _EPOCH = re.compile(r"^Trainer: epoch (\d+)/\d+ ")
    _STEP = re.compile(r"^Step \d+/\d+ Trainer: (start|\w+ in )")

    def __init__(self):
        self.built: tuple[float, float] | None = None
        self.epochs: list[dict] = []
        self.step: dict = {}
        handler = logging.Handler()
        handler.emit = self._on_record
        for name in ("components.trainer.executor", "pipeline.step_log"):
            logging.getLogger(name).addHandler(handler)

    @staticmethod
    def _now() -> tuple[float, float]:
        times = os.times()
        return time.monotonic(), times.user + times.system + times.children_user + times.children_system

    def _on_record(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        wall, cpu = self._now()
        if self._BUILT.match(message):
            self.built = (wall, cpu)
        elif (match := self._EPOCH.match(message)) and self.built is not None:
            self.epochs.append(
                {
                    "epoch": int(match.group(1)),
                    "seconds": wall - self.built[0],
                    "cpu_seconds": cpu - self.built[1],
                }
            )
        elif match := self._STEP.match(message):
            if match.group(1) == "start":
                self.step = {"wall": wall, "cpu": cpu}
            elif self.step:
                self.step = {"seconds": wall - self.step["wall"], "cpu_seconds": cpu - self.step["cpu"]}


def _newest(folder: Path) -> Path:
    return max((path for path in folder.iterdir() if path.name.isdigit()), key=lambda path: int(path.name))


def child_run(args: dict) -> dict:
    """``imdb-pipeline run`` on one span; the Trainer's epochs, timings and history, and the test metrics."""
    from components.artifacts import model as model_artifact
    from pipeline import cli
    from pipeline.config import DEFAULT_PIPELINE_NAME
    from pipeline.summary import summarize_latest_run

    clock = _TrainerClock()
    started = time.monotonic()
    code = cli.main(
        [
            "run",
            "--data",
            args["data"],
            "--span",
            str(args["span"]),
            "--output",
            args["output"],
            *args["options"],
        ]
    )
    if code != 0:
        raise SystemExit(f"imdb-pipeline run exited with {code}")
    summary = summarize_latest_run(os.path.join(args["output"], "metadata.sqlite"), DEFAULT_PIPELINE_NAME)
    if args["trained"] and dict(summary.steps).get("Trainer") != "COMPLETE":
        raise SystemExit(f"the Trainer did not run (steps: {summary.steps})")
    model_run = str(_newest(Path(args["output"], "pipeline_root", "Trainer", "model_run")))
    history = model_artifact.read_history(model_run)
    return {
        "seconds": time.monotonic() - started,
        "trainer": clock.step,
        "epochs": [
            {**timing, "val_accuracy": history["val_accuracy"][timing["epoch"] - 1]}
            for timing in clock.epochs
        ],
        "warm_start": model_artifact.read_warm_start(model_run),
        "accuracy": summary.metrics["accuracy"],
        "auc": summary.metrics["auc"],
        "pushed": summary.pushed_destination,
    }


# ---------------------------------------------------------------- report


def to_accuracy(run: dict, target: float) -> dict | None:
    """The first epoch whose eval accuracy reaches ``target``, with training time up to it."""
    return next((epoch for epoch in run["epochs"] if epoch["val_accuracy"] >= target - 1e-9), None)


def report(results: dict) -> None:
    runs = results["runs"]
    print_table(
        "Eval accuracy after each epoch (training wall / CPU seconds up to it, from the built model)",
        ["run", "epoch", "eval accuracy", "wall s", "CPU s"],
        [
            [name, e["epoch"], f"{e['val_accuracy']:.4f}", f"{e['seconds']:.1f}", f"{e['cpu_seconds']:.1f}"]
            for name, run in runs.items()
            for e in run["epochs"]
        ],
    )
    warm, cold = runs["span 2, warm start"], runs["span 2, cold"]
    best = {
        name: max(e["val_accuracy"] for e in run["epochs"]) for name, run in runs.items() if run["epochs"]
    }
    rows = []
    for name, run in (("span 2, cold", cold), ("span 2, warm start", warm)):
        row = [name]
        for target in (best["span 2, cold"], best["span 2, warm start"]):
            reached = to_accuracy(run, target)
            row += (
                [reached["epoch"], f"{reached['seconds']:.1f}", f"{reached['cpu_seconds']:.1f}"]
                if reached
                else [f"not in {len(run['epochs'])}", "", ""]
            )
        rows.append(
            [
                *row,
                len(run["epochs"]),
                f"{run['trainer']['seconds']:.1f}",
                f"{run['trainer']['cpu_seconds']:.1f}",
                f"{100 * run['accuracy']:.2f}%",
                f"{run['auc']:.4f}",
            ]
        )
    cold_best, warm_best = f"{best['span 2, cold']:.4f}", f"{best['span 2, warm start']:.4f}"
    print_table(
        f"Span 2: epochs, wall and CPU seconds of training to the cold run's best eval accuracy ({cold_best}) "
        f"and to the warm run's ({warm_best}); the whole Trainer step; test metrics",
        [
            "run",
            f"epochs to {cold_best}",
            "wall s",
            "CPU s",
            f"epochs to {warm_best}",
            "wall s",
            "CPU s",
            "epochs run",
            "Trainer wall s",
            "Trainer CPU s",
            "test acc",
            "AUC",
        ],
        rows,
    )
    record = warm["warm_start"] or {}
    print(
        f"\nwarm start from {record.get('model_uri')}: {record.get('shared_words')} shared words, "
        f"{record.get('new_words')} new, {record.get('dropped_words')} dropped; copied: {record.get('copied')}"
    )
    first = runs["span 1, cold"]
    print(f"span 1, cold: test accuracy {100 * first['accuracy']:.2f}%, AUC {first['auc']:.4f}")
    if results["train_reviews"]:
        print(f"labelled train reviews per span: {results['train_reviews']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="aclImdb_v1.tar.gz")
    parser.add_argument("--work", help="folder for the spans and the runs (default: a new temporary folder)")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--tables", help="print the tables of the results an earlier run wrote with --json, and stop"
    )
    parser.add_argument("--child-args", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args, options = parser.parse_known_args()

    if args.child_args:
        from pipeline.gc_at_exit import freeze_gc_at_exit

        freeze_gc_at_exit()
        Path(args.child_out).write_text(json.dumps(child_run(json.loads(args.child_args)), indent=2))
        return 0

    if args.tables:
        report(json.loads(Path(args.tables).read_text()))
        return 0
    if not args.data or not Path(args.data).is_file():
        parser.error("--data must be the aclImdb_v1.tar.gz archive")
    work = Path(args.work or tempfile.mkdtemp(prefix="warm-start-benchmark-")).resolve()
    spans = work / "spans"
    output = work / "output"
    results: dict = {
        "data": str(Path(args.data).resolve()),
        "options": options,
        "machine_cpus": os.cpu_count(),
    }
    if all((spans / f"span-{span}" / ARCHIVE).is_file() for span in (1, 2)):
        # A --work folder of an earlier, interrupted run: the same spans, so its cached steps are reused.
        print("(the spans are there already: reused)", flush=True)
        results["train_reviews"] = None
    else:
        print(f"cutting the train split in two by review id into {spans} ...", flush=True)
        results["train_reviews"] = write_spans(args.data, spans)
    data = str(spans / "span-{SPAN}" / ARCHIVE)
    results["runs"] = {}
    for name, span, extra in (
        ("span 1, cold", 1, []),
        ("span 2, warm start", 2, ["--trainer.warm_start", "true"]),
        ("span 2, cold", 2, []),
    ):
        print(f"running {name} ...", flush=True)
        result_file = work / f"run-{len(results['runs'])}.json"
        arguments = {
            "data": data,
            "span": span,
            "output": str(output),
            "options": [*options, *extra],
            # Span 1 only provides the model to start from: a cache hit of an earlier attempt will do.
            "trained": span == 2,
        }
        results["runs"][name] = _measure.run_child(
            __file__,
            ["--child-args", json.dumps(arguments), "--child-out", str(result_file)],
            name,
            result_file=result_file,
            cwd=REPOSITORY,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
