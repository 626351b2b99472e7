"""Where the time of a run on the bundled sample goes: start-up, each step, and the gaps between.

Runs ``imdb-pipeline run`` on the bundled sample twice, each in a fresh
process: first into an empty output folder (every step executes), then again
into the same folder (every step is a cache hit). For each it prints the wall
and CPU seconds of

* start-up: from starting the process to the pipeline's first line (Python,
  imports of TensorFlow, TFX, Beam and tf.Transform, configuration, pre-flight);
* building the pipeline and compiling it for the local runner;
* every step (CPU includes the step's threads and any process it starts, such
  as the canary's);
* between steps: TFX's launcher resolving inputs and publishing to ML Metadata;
* after the last step: the summary and the process's exit;

beside a reference measured in the same session, ``python -c "import tensorflow"``
in a fresh process, the floor of any TensorFlow command (machines of the same
kind differ by up to 3x in speed). Not part of the tests. Usage (from the
repository root)::

    .venv/bin/python benchmarks/step_costs.py [--output DIR] [--repeat N] [--json FILE] [run options ...]

Options it does not know go to ``imdb-pipeline run`` (``--data``,
``--trainer.epochs 1`` ...). ``--repeat`` runs the pair N times and prints the
median of each figure. ``--compare CHECKOUT`` also runs another checkout's code
(the code before a change), alternating with this one's in each repeat, and
prints its figures beside this one's: before and after measured in one session.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPOSITORY = Path(__file__).resolve().parents[1]
_RUNNING = "Component %s is running."
_FINISHED = "Component %s is finished."
_PIPELINE_LINE = "Pipeline %s: data %s, output %s"


def _cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its finished child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class _Clock(logging.Filter):
    """Notes the time of the run's first line and of each step's start and end (TFX's absl records)."""

    def __init__(self):
        super().__init__()
        self.marks: list[tuple[str, str, float, float]] = []  # (event, node, wall, cpu)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in (_RUNNING, _FINISHED, _PIPELINE_LINE) and record.args:
            event = {_RUNNING: "start", _FINISHED: "end", _PIPELINE_LINE: "pipeline"}[record.msg]
            self.marks.append((event, str(record.args[0]), time.monotonic(), _cpu_seconds()))
        return True  # only watches


def child(launched: float, result_file: str, source: str, run_args: list[str]) -> int:
    """One run in this process (``--child``) of ``source``'s command line ``main``, timed from outside."""
    sys.path.insert(0, source)
    from absl import logging as absl_logging

    clock = _Clock()
    # TFX marks each step's start and end with an absl record, at the exact moment (the run's own
    # step log reads ML Metadata, a little later). TensorFlow's SavedModel export sets absl's
    # verbosity to FATAL and back to absl's flag value (WARNING unless set), which would silence
    # those records for the rest of the run: pin the flag to INFO.
    absl_logging.set_verbosity(absl_logging.INFO)
    logging.getLogger("absl").addFilter(clock)
    logging.getLogger("pipeline.runner").addFilter(clock)
    from pipeline import cli

    code = cli.main(["run", *run_args])
    finished = time.monotonic()
    result = {
        "exit_code": code,
        "launched": launched,
        "finished": finished,
        "finished_cpu": _cpu_seconds(),
        "marks": clock.marks,
        "source": os.path.dirname(os.path.dirname(cli.__file__)),
    }
    Path(result_file).write_text(json.dumps(result))
    return code


def run_once(run_args: list[str], scratch: str, source: Path = REPOSITORY) -> dict[str, tuple[float, float]]:
    """One run of ``source``'s code in a fresh process; returns {part: (wall seconds, CPU seconds)} in run order."""
    result_file = os.path.join(scratch, "result.json")
    launched = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, __file__, "--child", repr(launched), result_file, str(source), "--", *run_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate()
    exited = time.monotonic()
    if process.returncode != 0 or not os.path.exists(result_file):
        raise SystemExit(f"the run failed with exit code {process.returncode}:\n{stderr[-4000:]}")
    result = json.loads(Path(result_file).read_text())
    os.remove(result_file)
    print(f"    ({result['source']}) {stdout.strip().splitlines()[-1]}", file=sys.stderr)
    marks = result["marks"]
    parts: dict[str, tuple[float, float]] = {}
    pipeline = next(mark for mark in marks if mark[0] == "pipeline")
    first = next(mark for mark in marks if mark[0] == "start")
    parts["start-up (imports, configuration, pre-flight)"] = (pipeline[2] - launched, pipeline[3])
    parts["building and compiling the pipeline"] = (first[2] - pipeline[2], first[3] - pipeline[3])
    between_wall = between_cpu = 0.0
    previous_end = first
    started: dict[str, tuple] = {}
    for event, node, wall, cpu in marks:
        if event == "start":
            if previous_end is not first:
                between_wall += wall - previous_end[2]
                between_cpu += cpu - previous_end[3]
            started[node] = (wall, cpu)
        elif event == "end" and node in started:
            wall0, cpu0 = started.pop(node)
            parts[node] = (wall - wall0, cpu - cpu0)
            previous_end = (event, node, wall, cpu)
    parts["between steps (launcher, ML Metadata)"] = (between_wall, between_cpu)
    parts["after the last step (summary, exit)"] = (
        exited - previous_end[2],
        result["finished_cpu"] - previous_end[3],
    )
    parts["whole process"] = (exited - launched, result["finished_cpu"])
    return parts


def import_tensorflow_seconds() -> float:
    """Wall seconds of ``python -c "import tensorflow"`` in a fresh process."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import tensorflow"],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stderr=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def _median(runs: list[dict[str, tuple[float, float]]]) -> dict[str, tuple[float, float]]:
    parts = list(dict.fromkeys(part for run in runs for part in run))
    return {
        part: tuple(statistics.median(run[part][i] for run in runs if part in run) for i in (0, 1))
        for part in parts
    }


def print_table(columns: dict[str, dict], reference: float) -> None:
    """One pair of wall / CPU columns per run kind (``first run``, ``cached run``, ...)."""
    parts = list(dict.fromkeys(part for figures in columns.values() for part in figures))
    width = max(len(part) for part in parts)
    print(f"{'':{width}}" + "".join(f"  {label:>17}" for label in columns))
    print(f"{'part':{width}}" + f"  {'wall s':>8} {'CPU s':>8}" * len(columns))
    for part in parts:
        cells = []
        for figures in columns.values():
            wall, cpu = figures.get(part, (float("nan"), float("nan")))
            cells.append(f"{wall:8.1f} {cpu:8.1f}")
        print(f"{part:{width}}  " + "  ".join(cells))
    print(f'reference: python -c "import tensorflow" in a fresh process: {reference:.1f} s wall')


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(float(argv[1]), argv[2], argv[3], argv[5:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output", help="the runs' output folder (emptied first); default: a temporary one")
    parser.add_argument("--repeat", type=int, default=1, help="pairs of runs; the median is shown")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument(
        "--compare",
        type=Path,
        help="another checkout (the code before a change): its runs alternate with this one's, shown beside them",
    )
    args, run_args = parser.parse_known_args(argv)
    sources = {"": REPOSITORY}
    if args.compare:
        sources = {"before ": args.compare.resolve(), "after ": REPOSITORY}
    runs: dict[str, list[dict]] = {}
    references = []
    with tempfile.TemporaryDirectory(prefix="step-costs-") as scratch:
        output = args.output or os.path.join(scratch, "output")
        for repeat in range(args.repeat):
            references.append(import_tensorflow_seconds())
            for label, source in sources.items():
                shutil.rmtree(output, ignore_errors=True)
                print(f"pair {repeat + 1}/{args.repeat}: {label}first run, then cached run", file=sys.stderr)
                runs.setdefault(f"{label}first run", []).append(
                    run_once(["--output", output, *run_args], scratch, source)
                )
                runs.setdefault(f"{label}cached run", []).append(
                    run_once(["--output", output, *run_args], scratch, source)
                )
    reference = statistics.median(references)
    print_table({label: _median(figures) for label, figures in runs.items()}, reference)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    **{label.replace(" ", "_"): figures for label, figures in runs.items()},
                    "sources": {label.strip() or "this": str(source) for label, source in sources.items()},
                    "import_tensorflow_seconds": references,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
