"""What StatisticsGen costs, this checkout's beside an earlier version's, on the same examples.

Runs StatisticsGen's executor alone (no TFX launcher, no ML Metadata) on an
ExampleGen output and a Transform graph, each version in a fresh process, one
after the other in the same session, and prints each one's wall and CPU seconds
(CPU is the figure that compares on a machine shared with other jobs) and
whether the two statistics artifacts are byte for byte the same
(``summary.json`` and every ``Split-*/FeatureStats.pb``). The earlier version is
a git revision of this repository (``--baseline main~3``), exported with
``git archive``; without ``--baseline`` only this checkout is measured.
``--profile DIR`` writes each version's cProfile (``<label>.prof``). Not part of
the tests. Usage (from the repository root)::

    .venv/bin/python benchmarks/statistics_cost.py --examples ROOT/FileBasedExampleGen/examples/1 \\
        --transform-graph ROOT/Transform/transform_graph/5 [--baseline REV] [--repeat N] [--profile DIR]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = Path(__file__).resolve().parents[1]


def _run_executor(examples: str, transform_graph: str, output: str, beam_args: list[str]) -> None:
    """The worker: StatisticsGen's executor on artifacts built from the given folders."""
    from tfx.dsl.components.base import base_beam_executor
    from tfx.types import artifact_utils, standard_artifacts

    from components.statistics import executor
    from pipeline.pipeline import beam_args_with_dependencies

    splits = sorted(path.name.removeprefix("Split-") for path in Path(examples).glob("Split-*"))
    examples_artifact = standard_artifacts.Examples()
    examples_artifact.uri = examples
    examples_artifact.split_names = artifact_utils.encode_split_names(splits)
    graph = standard_artifacts.TransformGraph()
    graph.uri = transform_graph
    statistics_artifact = standard_artifacts.ExampleStatistics()
    statistics_artifact.uri = output
    Path(output).mkdir(parents=True, exist_ok=True)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(beam_args), tmp_dir=output
    )
    executor.StatisticsGenExecutor(context).Do(
        {executor.EXAMPLES_KEY: [examples_artifact], executor.TRANSFORM_GRAPH_KEY: [graph]},
        {executor.STATISTICS_KEY: [statistics_artifact]},
        {},
    )


def _measure(code: Path, args: argparse.Namespace, output: Path, profile: Path | None) -> dict[str, float]:
    """Runs the worker on ``code`` in a fresh process; its wall and CPU seconds (process and children)."""
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += [
        str(Path(__file__).resolve()),
        "--worker",
        "--examples",
        args.examples,
        "--transform-graph",
        args.transform_graph,
        "--output",
        str(output),
    ]
    environment = {**os.environ, "PYTHONPATH": str(code)}
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environment, cwd=code)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"StatisticsGen of {code} failed with exit code {process.returncode}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def _artifact_files(uri: Path) -> list[str]:
    return sorted(
        str(path.relative_to(uri)) for path in uri.rglob("*") if path.name.endswith((".json", ".pb"))
    )


def same_statistics(first: Path, second: Path) -> tuple[bool, list[str]]:
    """Whether two statistics artifacts hold the same files with the same bytes; the files that differ."""
    names = _artifact_files(first)
    if names != _artifact_files(second):
        return False, sorted(set(names) ^ set(_artifact_files(second)))
    differing = [name for name in names if not filecmp.cmp(first / name, second / name, shallow=False)]
    return not differing, differing


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", required=True, help="an Examples artifact's folder (Split-* inside)")
    parser.add_argument("--transform-graph", required=True, help="a TransformGraph artifact's folder")
    parser.add_argument("--baseline", help="a git revision to measure beside this checkout")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each version; medians are printed")
    parser.add_argument("--profile", help="a folder for each version's cProfile output")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _run_executor(args.examples, args.transform_graph, args.output, ["--runner=FnApiRunner"])
        return

    with tempfile.TemporaryDirectory(prefix="statistics-cost-") as scratch:
        versions = {"this checkout": REPOSITORY}
        if args.baseline:
            exported = Path(scratch, "baseline-code")
            exported.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(REPOSITORY), "archive", args.baseline], check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(exported)], input=archive, check=True)
            versions = {f"baseline {args.baseline}": exported, **versions}
        figures: dict[str, list[dict[str, float]]] = {label: [] for label in versions}
        outputs = {}
        for repeat in range(args.repeat):
            for index, (label, code) in enumerate(versions.items()):
                output = Path(scratch, f"statistics-{index}-{repeat}")
                profile = None
                if args.profile and repeat == 0:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    profile = Path(
                        args.profile, f"{'baseline' if index == 0 and args.baseline else 'this'}.prof"
                    )
                figures[label].append(_measure(code, args, output, profile))
                outputs[label] = output
        print(f"StatisticsGen's executor on {args.examples} (median of {args.repeat}):")
        print(f"{'version':<30} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}")
        summary = {}
        for label, runs in figures.items():
            medians = {key: statistics.median(run[key] for run in runs) for key in ("wall", "cpu", "peak_mb")}
            summary[label] = medians
            print(f"{label:<30} {medians['wall']:>8.1f} {medians['cpu']:>8.1f} {medians['peak_mb']:>8.0f}")
        if args.baseline:
            same, differing = same_statistics(*outputs.values())
            summary["same_output"] = same
            print("outputs: " + ("byte for byte the same" if same else f"DIFFER in {', '.join(differing)}"))
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
