"""What the Evaluator costs: the step alone, rerun on a finished run's artifacts, before beside after.

Reads a finished run's ML Metadata (``OUTPUT/metadata.sqlite``) for the
Evaluator's first completed execution: its examples, its model (and baseline,
if it had one) and its properties (the EvalConfig, the splits). Reruns the
pipeline's Evaluator executor on them in a fresh process, the way the
pipeline's process runs it (the same Beam runner), and prints the step's wall
and CPU seconds (CPU is the figure that compares on a machine shared with other
jobs) beside the process's peak resident memory (the imports included: the
pipeline's process has made them before the step) and its growth during the
step. ``--baseline-model`` also gives the run's model as the baseline, as in a
run after a push (two models scored, the change thresholds checked).

``--compare CHECKOUT`` (another checkout's folder, or a git revision of this
repository) reruns that code too, alternating with this checkout in each
repeat, and says whether both wrote the same evaluation: every slice's metrics,
plots, validation result and attributions, compared record for record. Not
part of the tests. Usage (from the repository root)::

    .venv/bin/python benchmarks/evaluator_cost.py --output RUN_OUTPUT [--compare REV_OR_CHECKOUT] \\
        [--repeat N] [--baseline-model] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

import _measure

REPOSITORY = Path(__file__).resolve().parents[1]
EVALUATOR = "Evaluator"
FIGURES = ("wall", "cpu", "peak_mb", "step_growth_mb")


def _run_evaluator(run_output: str, work: str, baseline_model: bool) -> dict:
    """The worker: the Evaluator's executor on the run's inputs, writing into ``work``."""
    from tfx.dsl.components.base import base_beam_executor

    from components.evaluator.executor import Executor
    from pipeline.config import DEFAULT_RUNNER_ARG
    from pipeline.pipeline import beam_args_with_dependencies

    store = _measure.run_store(run_output)
    execution, events = _measure.completed_execution(store, EVALUATOR)
    inputs, outputs = _measure.rerun_artifacts(store, events, work)
    if baseline_model:
        inputs["baseline_model"] = list(inputs["model"])
    properties = {name: value.string_value for name, value in execution.custom_properties.items()}

    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies([DEFAULT_RUNNER_ARG]), tmp_dir=work
    )
    before_mb = _measure.peak_rss_mb()
    started, cpu = time.monotonic(), time.process_time()
    Executor(context).Do(inputs, outputs, properties)
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu
    peak_mb = _measure.peak_rss_mb()
    return {
        "wall": seconds,
        "cpu": cpu_seconds,
        "peak_mb": peak_mb,
        "step_growth_mb": peak_mb - before_mb,
        "evaluation": outputs["evaluation"][0].uri,
    }


def _records(evaluation: Path) -> dict[str, list[str]]:
    """Each output of an evaluation (metrics, plots, validations, attributions): its records as sorted text."""
    from google.protobuf import text_format
    import tensorflow as tf
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2, validation_result_pb2

    kinds = {
        "metrics": metrics_for_slice_pb2.MetricsForSlice,
        "plots": metrics_for_slice_pb2.PlotsForSlice,
        "attributions": metrics_for_slice_pb2.AttributionsForSlice,
        "validations": validation_result_pb2.ValidationResult,
    }
    records = {}
    for kind, message in kinds.items():
        texts = []
        for path in sorted(evaluation.glob(f"{kind}*")):
            for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
                # Text format writes map entries sorted: two equal messages give the same text.
                texts.append(text_format.MessageToString(message.FromString(record)))
        records[kind] = sorted(texts)
    return records


def same_evaluation(first: Path, second: Path) -> tuple[bool, list[str]]:
    """Whether two evaluations hold the same records (every slice, every value); the outputs that differ."""
    first_records, second_records = _records(first), _records(second)
    differing = [kind for kind in first_records if first_records[kind] != second_records[kind]]
    return not differing, differing


def _measure_once(code: Path, args: argparse.Namespace, work: Path) -> dict:
    """Runs the worker on ``code`` in a fresh process; its figures, CPU of the process and its children."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--output", args.output]
    command += ["--work", str(work), *(["--baseline-model"] if args.baseline_model else [])]
    result_file = work / "result.json"
    process = subprocess.Popen(
        [*command, "--result", str(result_file)],
        env={**os.environ, "PYTHONPATH": str(code)},
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"the Evaluator of {code} failed ({process.returncode}):\n{stderr.decode()[-4000:]}")
    return json.loads(result_file.read_text())


def _checkout(compare: str, scratch: str) -> Path:
    """``compare`` as a folder of code: itself if it is one, else that git revision, exported."""
    if Path(compare).is_dir():
        return Path(compare).resolve()
    exported = Path(scratch, "compare-code")
    exported.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", compare], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(exported)], input=archive, check=True)
    return exported


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output", required=True, help="a finished run's output folder (holds metadata.sqlite)"
    )
    parser.add_argument(
        "--compare", help="another checkout's folder, or a git revision, measured beside this one"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each version; medians are printed")
    parser.add_argument("--baseline-model", action="store_true", help="the run's model is also the baseline")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = _run_evaluator(args.output, args.work, args.baseline_model)
        Path(args.result).write_text(json.dumps(result))
        return
    if not (Path(args.output) / "metadata.sqlite").is_file():
        parser.error(f"--output {args.output} holds no metadata.sqlite: not a finished run's output folder")

    with tempfile.TemporaryDirectory(prefix="evaluator-cost-") as scratch:
        versions = {"this checkout": REPOSITORY}
        if args.compare:
            versions = {f"compared ({args.compare})": _checkout(args.compare, scratch), **versions}
        figures: dict[str, list[dict]] = {label: [] for label in versions}
        for repeat in range(args.repeat):
            for index, (label, code) in enumerate(versions.items()):
                work = Path(scratch, f"evaluator-{index}-{repeat}")
                work.mkdir()
                figures[label].append(_measure_once(code, args, work))
        models = "model and baseline" if args.baseline_model else "model"
        print(f"The Evaluator's executor on {args.output}'s examples and {models} (median of {args.repeat}):")
        print(f"{'version':<40} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} {'step +MB':>9}")
        summary: dict = {}
        for label, runs in figures.items():
            medians = {key: statistics.median(run[key] for run in runs) for key in FIGURES}
            summary[label] = medians
            print(
                f"{label:<40} {medians['wall']:>8.1f} {medians['cpu']:>8.1f} "
                f"{medians['peak_mb']:>8.0f} {medians['step_growth_mb']:>9.0f}"
            )
        if args.compare:
            same, differing = same_evaluation(*(Path(runs[0]["evaluation"]) for runs in figures.values()))
            summary["same_evaluation"] = same
            print(
                "evaluations: "
                + ("the same, record for record" if same else f"DIFFER in {', '.join(differing)}")
            )
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
