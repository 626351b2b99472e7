"""Probing a SavedModel in a fresh TensorFlow-only process (:func:`run_probes`), and the verdict."""

from __future__ import annotations

import base64
from collections.abc import Sequence
import json
import math
import os
from pathlib import Path
import subprocess
import sys
import tempfile
from typing import Any

from components.artifacts.infra_blessing import CanaryResult
from components.canary import probe_process
from components.canary.options import CanaryOptions
from components.canary.probes import DECISION_THRESHOLD, POSITIVE, PROBES, Probe
from components.plural import counted
from components.process_memory import release_freed_memory
from schemas import features

PROBE_SCRIPT = Path(probe_process.__file__)
SIGNATURES = (features.TEXT_SIGNATURE, features.EXAMPLES_SIGNATURE)
# The two signatures run the same graph on the same text: they may differ by rounding only.
AGREEMENT_TOLERANCE = 1e-4
# Timed calls of each signature after the warm-up call; the fastest counts.
REPEATS = 3
# Starting Python and importing TensorFlow, on top of the configured limits.
PROCESS_OVERHEAD_SECONDS = 180.0


def process_timeout(options: CanaryOptions) -> float:
    """How long the probe process may take in all before it is killed."""
    calls = len(SIGNATURES) * (REPEATS + 1)
    return PROCESS_OVERHEAD_SECONDS + options.max_load_seconds + calls * options.max_batch_seconds


def run_probes(model_dir: str, options: CanaryOptions, probes: Sequence[Probe] = PROBES) -> dict[str, Any]:
    """The probe process's JSON (probe_process.py); ``error`` is set when it failed, crashed or timed out."""
    request = {
        "model_dir": model_dir,
        "probes": [{"name": p.name, "text_base64": base64.b64encode(p.text).decode()} for p in probes],
        "text_signature": features.TEXT_SIGNATURE,
        "text_input": features.TEXT_INPUT,
        "examples_signature": features.EXAMPLES_SIGNATURE,
        "examples_input": features.EXAMPLES_INPUT,
        "text_feature": features.TEXT,
        "output": features.PROBABILITY_OUTPUT,
        "repeats": REPEATS,
    }
    timeout = process_timeout(options)
    # The probe process's memory adds to the pipeline's: hand back what the steps before freed.
    release_freed_memory()
    with tempfile.TemporaryDirectory(prefix="canary-") as scratch:
        request_path = os.path.join(scratch, "request.json")
        result_path = os.path.join(scratch, "result.json")
        with open(request_path, "w", encoding="utf-8") as f:
            json.dump(request, f)
        environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
        try:
            # -I: no PYTHONPATH, no user site-packages, not even the script's folder on sys.path.
            finished = subprocess.run(
                [sys.executable, "-I", str(PROBE_SCRIPT), request_path, result_path],
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                cwd=scratch,
                env=environment,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"the probe process did not finish within {timeout:.0f} s and was stopped"}
        if not os.path.exists(result_path):
            last_lines = " | ".join(finished.stderr.strip().splitlines()[-3:])
            return {
                "error": f"the probe process exited with code {finished.returncode} without a result"
                + (f": {last_lines}" if last_lines else "")
            }
        with open(result_path, encoding="utf-8") as f:
            return json.load(f)


def _is_probability(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and 0.0 <= value <= 1.0


def evaluate(
    outputs: dict[str, Any], options: CanaryOptions, probes: Sequence[Probe] = PROBES
) -> CanaryResult:
    """The verdict on a model from the probe process's ``outputs``: every rule it breaks, in order."""
    failures: list[str] = []
    if outputs.get("loaded_modules"):
        failures.append(
            "the probe process imported " + ", ".join(outputs["loaded_modules"]) + " besides TensorFlow"
        )
    if outputs.get("error"):
        failures.append(f"the model could not be served by plain TensorFlow: {outputs['error']}")
    signatures = outputs.get("signatures") or {}
    rows = []
    for index, probe in enumerate(probes):
        row: dict[str, Any] = {"name": probe.name, "bytes": len(probe.text), "expected": probe.expected}
        row["probabilities"] = {
            name: signatures[name]["probabilities"][index]
            for name in SIGNATURES
            if name in signatures and index < len(signatures[name]["probabilities"])
        }
        problems = []
        for name, value in row["probabilities"].items():
            if not _is_probability(value):
                problems.append(
                    f"probe {probe.name!r} via {name}: {value!r} is not a finite probability in [0, 1]"
                )
        values = list(row["probabilities"].values())
        if len(values) == len(SIGNATURES) and all(_is_probability(v) for v in values):
            if abs(values[0] - values[1]) > AGREEMENT_TOLERANCE:
                problems.append(
                    f"probe {probe.name!r}: the signatures disagree ({SIGNATURES[0]} {values[0]:.6f}, "
                    f"{SIGNATURES[1]} {values[1]:.6f})"
                )
            if probe.expected is not None:
                score = values[0]
                right = (
                    score > DECISION_THRESHOLD if probe.expected == POSITIVE else score < DECISION_THRESHOLD
                )
                if not right:
                    side = ">" if probe.expected == POSITIVE else "<"
                    problems.append(
                        f"probe {probe.name!r} scored {score:.4f}; a {probe.expected} review must score "
                        f"{side} {DECISION_THRESHOLD}"
                    )
        if len(values) != len(SIGNATURES) and not outputs.get("error"):
            problems.append(f"probe {probe.name!r}: no output from every signature")
        row["ok"] = not problems and len(values) == len(SIGNATURES)
        failures.extend(problems)
        rows.append(row)

    load_seconds = outputs.get("load_seconds")
    if isinstance(load_seconds, float) and load_seconds > options.max_load_seconds:
        failures.append(
            f"loading the model took {load_seconds:.3f} s, over canary.max_load_seconds "
            f"({options.max_load_seconds:g} s)"
        )
    batch_seconds = {name: signatures[name]["batch_seconds"] for name in SIGNATURES if name in signatures}
    for name, seconds in batch_seconds.items():
        if seconds > options.max_batch_seconds:
            failures.append(
                f"a batch of {counted(len(probes), 'probe')} via {name} took {seconds:.3f} s, over "
                f"canary.max_batch_seconds ({options.max_batch_seconds:g} s)"
            )
    details = {
        "probes": rows,
        "load_seconds": load_seconds,
        "batch_seconds": batch_seconds,
        "first_batch_seconds": {
            name: signatures[name]["first_batch_seconds"] for name in SIGNATURES if name in signatures
        },
        "limits": {
            "max_load_seconds": options.max_load_seconds,
            "max_batch_seconds": options.max_batch_seconds,
        },
        "process": {
            "python": outputs.get("python"),
            "loaded_modules": outputs.get("loaded_modules", []),
            "error": outputs.get("error"),
        },
    }
    return CanaryResult(tuple(failures), details)
