"""Scheduled runs: new spans, comparison with the served model, safe pushes, interrupted runs.

Spans are copies of the bundled sample arriving as ``span-<n>/`` folders. The
runs happen in order on one output directory, like nightly runs.
"""

import json
import os
import shutil

import pytest

from components.artifacts import drift_anomalies
from components.trainer import model as trainer_model
from pipeline import runner
from pipeline.config import SAMPLE_DATA, build_config
from pipeline.lock import run_lock

pytestmark = pytest.mark.slow

MODEL_NAME = "imdb_sentiment"
SMALL = {"evaluation": {"min_accuracy": 0.7, "min_auc": 0.75, "baseline_margin": 0.02}}
# A model that barely trains: far worse than any baseline.
WORSE = {"trainer": {"epochs": 1, "learning_rate": 1e-6}}


def _write_span(root, span):
    """A new span arrives: the sample archive, copied as <root>/span-<span>/aclImdb_sample.tar.gz."""
    os.makedirs(os.path.join(root, f"span-{span}"))
    shutil.copy(SAMPLE_DATA, os.path.join(root, f"span-{span}", SAMPLE_DATA.name))


def _run(output, spans, **overrides):
    """A run over ``spans``; ``overrides``: options (``span=2``) or sections of them (``drift={...}``)."""
    values = {"data": os.path.join(spans, "span-{SPAN}", SAMPLE_DATA.name), "output": str(output), **SMALL}
    for name, value in overrides.items():
        values[name] = {**values.get(name, {}), **value} if isinstance(value, dict) else value
    return runner.run_pipeline(build_config(values))


def _served_versions(output):
    return sorted(int(v) for v in os.listdir(output / "serving" / MODEL_NAME) if v.isdigit())


def _manifest(output, version):
    return json.loads((output / "serving" / MODEL_NAME / str(version) / "manifest.json").read_text())


@pytest.fixture(scope="module")
def nightly(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduled")
    spans = root / "spans"
    _write_span(spans, 1)
    return root / "out", str(spans)


def test_first_span_is_ingested_blessed_and_pushed_with_a_manifest(nightly):
    output, spans = nightly
    summary = _run(output, spans)
    assert summary.blessed and summary.pushed_destination
    (version,) = _served_versions(output)
    manifest = _manifest(output, version)
    assert manifest["data"]["span"] == 1
    assert manifest["version"] == version
    assert manifest["blessing"]["blessed"] is True
    assert manifest["evaluation"]["metrics"]["accuracy"] == pytest.approx(summary.metrics["accuracy"])
    assert manifest["evaluation"]["baseline_metrics"] is None
    assert manifest["embedding"]["coverage"]["word_share"] > 0.99
    assert manifest["code"]["package"] == "0.1.0"
    # The run released its lock: taking it again at once succeeds (a held lock raises
    # RunInProgressError, also in this process).
    with run_lock(str(output)):
        pass


def test_a_new_span_is_compared_with_the_served_model_and_pushed_by_the_rule(nightly):
    output, spans = nightly
    _write_span(spans, 2)
    (before,) = _served_versions(output)
    summary = _run(output, spans)

    examples_step = dict(summary.steps)["FileBasedExampleGen"]
    assert examples_step == "COMPLETE"  # the new span was ingested, not a cache hit
    # The same data again: the drift check compared it with span 1's statistics and found nothing.
    anomalies = output / "pipeline_root" / "DriftCheck" / "anomalies"
    findings, *spans = drift_anomalies.read_findings(str(anomalies / max(os.listdir(anomalies), key=int)))[:5]
    assert spans == [2, 1, 2, 1]
    drifts = {(f.check, f.split): f.distance for f in findings if f.kind == "drift"}
    assert drifts[("label", "train")] == 0.0 and drifts[("length", "test")] == 0.0
    assert not any(f.exceeded for f in findings) and summary.drift_warnings is None
    assert summary.baseline_metrics, "the served model must be evaluated as the baseline"
    margin = SMALL["evaluation"]["baseline_margin"]
    expected_blessing = all(
        summary.metrics[name] >= minimum and summary.metrics[name] >= summary.baseline_metrics[name] - margin
        for name, minimum in (("accuracy", 0.7), ("auc", 0.75))
    )
    assert summary.blessed is expected_blessing
    versions = _served_versions(output)
    if expected_blessing:
        assert versions[0] == before and len(versions) == 2 and versions[1] > before
        assert _manifest(output, versions[1])["data"]["span"] == 2
        assert _manifest(output, versions[1])["evaluation"]["baseline_metrics"]["accuracy"] == pytest.approx(
            summary.baseline_metrics["accuracy"]
        )
    else:
        assert versions == [before]


def test_a_worse_model_is_not_pushed_and_the_served_version_stays(nightly):
    output, spans = nightly
    served = _served_versions(output)
    summary = _run(output, spans, **WORSE)
    assert summary.blessed is False
    assert any(
        "vs the baseline; required candidate - baseline >= -0.02" in failure
        for failure in summary.blessing_failures
    )
    assert summary.pushed_destination is None
    assert _served_versions(output) == served


def test_a_run_that_fails_in_the_trainer_changes_nothing_served_and_the_next_run_completes(
    nightly, monkeypatch
):
    output, spans = nightly
    served = _served_versions(output)
    manifests = {version: _manifest(output, version) for version in served}

    def crash(*args, **kwargs):
        raise RuntimeError("injected failure in the trainer")

    with monkeypatch.context() as patch:
        patch.setattr(trainer_model, "build_model", crash)
        with pytest.raises(RuntimeError, match="injected failure in the trainer"):
            _run(output, spans, trainer={"seed": 7})
    assert _served_versions(output) == served
    assert {version: _manifest(output, version) for version in served} == manifests
    assert not [name for name in os.listdir(output / "serving" / MODEL_NAME) if name.startswith(".")]

    summary = _run(output, spans, trainer={"seed": 7})
    assert dict(summary.steps)["Trainer"] == "COMPLETE"
    assert dict(summary.steps)["Transform"] == "CACHED"
