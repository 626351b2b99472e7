"""What the Trainer's options cost and buy: the step alone, rerun on a finished run's artifacts.

Reads a finished run's ML Metadata (``OUTPUT/metadata.sqlite``) for the Trainer's
first completed execution: its input artifacts and its options. For each
``--set`` (option overrides, ``name=value`` separated by spaces; values are
JSON, or text), it reruns the Trainer's executor in a fresh process with those
options, scores the exported model's ``serving_tf_example`` signature on the
test split EvalSlices wrote (the reviews the Evaluator scores), and prints the
test accuracy beside the step's wall and CPU seconds (CPU is the figure that
compares on a machine shared with other jobs) and peak memory. Same data, same
seed: only the options differ. Not part of the tests. Usage (from the
repository root)::

    .venv/bin/python benchmarks/trainer_options.py --output RUN_OUTPUT \\
        --set "epochs=4 batch_size=64 learning_rate=0.003" --set "epochs=2" [--json FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import tempfile
import time

import _measure

TRAINER = "Trainer"
EVAL_SLICES = "EvalSlices"


def _run_trainer(run_output: str, overrides: dict, work: str) -> dict:
    """The worker: the Trainer on the run's inputs with ``overrides``; then the test accuracy of its model."""
    from ml_metadata.proto import metadata_store_pb2
    import numpy as np
    import tensorflow as tf
    from tfx.dsl.components.base import base_executor
    from tfx.types import artifact_utils

    from components.file_patterns import tfrecord_compression
    from components.options import OPTIONS_KEY
    from components.trainer.executor import Executor
    from schemas import features

    store = _measure.run_store(run_output)
    execution, events = _measure.completed_execution(store, TRAINER)
    inputs, outputs = _measure.rerun_artifacts(store, events, work)
    properties = {
        name: value.string_value or value.int_value for name, value in execution.custom_properties.items()
    }
    options = {**json.loads(properties[OPTIONS_KEY]), **overrides}
    properties = {OPTIONS_KEY: json.dumps(options)}

    started, cpu = time.monotonic(), time.process_time()
    Executor(base_executor.BaseExecutor.Context(tmp_dir=work)).Do(inputs, outputs, properties)
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu

    _, slice_events = _measure.completed_execution(store, EVAL_SLICES)
    (sliced,) = (
        artifact
        for event, artifact in _measure.event_artifacts(store, slice_events)
        if event.type == metadata_store_pb2.Event.OUTPUT
    )
    model = tf.saved_model.load(str(Path(outputs["model"][0].uri) / "Format-Serving"))
    score = model.signatures[features.EXAMPLES_SIGNATURE]
    files = tf.io.gfile.glob(str(Path(artifact_utils.get_split_uri([sliced], features.TEST)) / "*"))
    right = total = 0
    for batch in tf.data.TFRecordDataset(files, compression_type=tfrecord_compression(files)).batch(256):
        probabilities = next(iter(score(examples=batch).values())).numpy().ravel()
        labels = np.array(
            [
                tf.train.Example.FromString(record).features.feature[features.LABEL].int64_list.value[0]
                for record in batch.numpy()
            ]
        )
        right += int(np.count_nonzero((probabilities >= 0.5) == (labels == features.POSITIVE_LABEL)))
        total += len(labels)
    return {
        "options": overrides,
        "test_accuracy": right / total,
        "test_reviews": total,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "peak_rss_mb": _measure.peak_rss_mb(),
    }


def _run_options(run_output: str) -> dict:
    """The options the run's Trainer ran with."""

    from components.options import OPTIONS_KEY

    execution, _ = _measure.completed_execution(_measure.run_store(run_output), TRAINER)
    return json.loads(execution.custom_properties[OPTIONS_KEY].string_value)


def _check_sets(parser: argparse.ArgumentParser, run_output: str, sets: list[dict]) -> None:
    """Every ``--set`` checked as the Trainer will check it, before the first rerun (exit 2 naming it)."""
    from components.options import OptionsError
    from components.trainer.options import TrainerOptions

    options = _run_options(run_output)
    for overrides in sets:
        if overrides.get("warm_start"):
            parser.error(
                "--set warm_start=true: the rerun reads the run's own inputs, which hold no earlier model to start from"
            )
        try:
            TrainerOptions(**{**options, **overrides})
        except OptionsError as error:
            parser.error(f"--set {' '.join(f'{k}={v}' for k, v in overrides.items())}: {error}")


def _parse_set(text: str) -> dict:
    overrides = {}
    for item in text.split():
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise argparse.ArgumentTypeError(
                f"--set takes name=value items separated by spaces, got {item!r}"
            )
        try:
            overrides[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides[name] = value
    return overrides


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output", required=True, help="a finished run's output folder (holds metadata.sqlite)"
    )
    parser.add_argument(
        "--set",
        dest="sets",
        type=_parse_set,
        action="append",
        required=True,
        help='trainer options, "name=value ..."',
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (Path(args.output) / "metadata.sqlite").is_file():
        parser.error(f"--output {args.output} holds no metadata.sqlite: not a finished run's output folder")
    if args.worker:
        print(json.dumps(_run_trainer(args.output, args.sets[0], args.worker)))
        return
    _check_sets(parser, args.output, args.sets)
    results = []
    for overrides in args.sets:
        with tempfile.TemporaryDirectory(prefix="trainer-options-") as work:
            results.append(
                _measure.run_child(
                    __file__,
                    [
                        "--output",
                        args.output,
                        "--set",
                        " ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items()),
                        "--worker",
                        work,
                    ],
                    f"the Trainer with {overrides}",
                )
            )
    print(f"{'options':<50} {'test accuracy':>13} {'wall s':>7} {'CPU s':>7} {'peak MB':>8}")
    for result in results:
        described = (
            " ".join(f"{name}={value}" for name, value in result["options"].items()) or "(the run's own)"
        )
        print(
            f"{described:<50} {100 * result['test_accuracy']:>12.2f}% {result['seconds']:>7.1f} "
            f"{result['cpu_seconds']:>7.1f} {result['peak_rss_mb']:>8.0f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.exit(main())
