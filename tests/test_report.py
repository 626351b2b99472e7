"""The run report: its numbers, its page, and the report of a real end-to-end run."""

import base64
import dataclasses
import glob
import html.parser
import io
import json
import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from PIL import Image
import pytest
import tensorflow as tf
from tfx.types.standard_artifacts import Examples, InfraBlessing, ModelBlessing, PushedModel

from components.artifacts import infra_blessing as canary_results
from components.artifacts import pushed_model, run_report
from components.artifacts.drift_anomalies import DriftFindings, NotCompared
from components.artifacts.quarantine import QUARANTINE_DIR, SUMMARY_FILE, read_quarantine
from components.artifacts.ref import ArtifactRef
from components.artifacts.statistics import (
    DuplicateGroup,
    Duplicates,
    SplitStatistics,
    read_statistics,
    spans_name,
)
from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors
from components.canary.probes import PROBES
from components.plural import counted
from components.report import analysis, read_inputs, render
from components.report.sections import (
    CalibrationBucket,
    Curve,
    DataReport,
    EvaluationReport,
    LineageReport,
    ReportData,
    RunEntry,
    StepRecord,
    ThresholdCheck,
    TrainingReport,
)
from pipeline.rerender import run_dir_name
from pipeline.run_records import RunRecord
from pipeline.step_log import describe_outputs
from schemas import features
from tests.conftest import run_cli
from tests.metadata_records import sqlite_store_with_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = "/usr/bin/chromium"
SECTIONS = ("data", "embeddings", "training", "evaluation", "canary", "lineage")
# The index's blessing cells, exactly: "blessed" alone is also a substring of "not blessed".
BLESSED_CELL = '<span class="pass">blessed</span>'
NOT_BLESSED_CELL = '<span class="fail">not blessed</span>'
# Alt texts of every figure of a full run's report, sorted.
REPORT_IMAGES = [
    "Accuracy per slice",
    "Calibration plot",
    "Confusion matrix",
    "Histogram of review lengths per split",
    "Loss and accuracy per epoch",
    "PCA of the most frequent words before and after fine-tuning",
    "ROC curve",
]


class _Page(html.parser.HTMLParser):
    """What the tests read from a report page: ids, images, metric cells, links."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: set[str] = set()
        self.images: list[tuple[str, str]] = []  # (src, alt)
        self.metrics: dict[tuple[str, str], float] = {}  # (model, metric) -> value
        self.links: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "img":
            self.images.append((attributes["src"], attributes.get("alt", "")))
        if tag == "td" and "data-metric" in attributes and "data-value" in attributes:
            self.metrics[(attributes["data-model"], attributes["data-metric"])] = float(
                attributes["data-value"]
            )
        if tag == "a" and attributes.get("href", "").endswith(".html"):
            self.links.append(attributes["href"])


def _png_images(page: _Page, base: Path) -> dict[str, Image.Image]:
    """Every referenced image decoded (data URIs, or files relative to the page), by alt text."""
    images = {}
    for src, alt in page.images:
        if src.startswith("data:image/png;base64,"):
            data = base64.b64decode(src.split(",", 1)[1], validate=True)
        else:
            path = base / src
            assert path.is_file(), f"{src} does not exist"
            data = path.read_bytes()
        assert data.startswith(PNG_MAGIC), alt
        image = Image.open(io.BytesIO(data))
        image.load()  # decodes every pixel
        assert image.format == "PNG"
        images[alt] = image
    return images


# --- the numbers --------------------------------------------------------------------------------


def test_pca_of_points_on_a_line_puts_all_variance_on_the_first_component():
    direction = np.array([3.0, 0.0, 4.0]) / 5.0
    steps = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    matrix = np.array([1.0, 1.0, 1.0]) + steps[:, None] * direction
    coordinates, explained = analysis.pca_2d(matrix)
    np.testing.assert_allclose(explained, (1.0, 0.0), atol=1e-12)
    # The component's largest loading is positive, so the sign is fixed: +direction.
    np.testing.assert_allclose(coordinates[:, 0], steps, atol=1e-12)
    np.testing.assert_allclose(coordinates[:, 1], 0.0, atol=1e-12)


def test_the_most_frequent_words_follow_the_reserved_tokens():
    vocabulary = [*features.RESERVED_TOKENS, "the", "a", "film"]
    assert features.vocabulary_words(vocabulary)[:2] == ["the", "a"]


def test_confusion_matrix_is_read_at_the_threshold_nearest_one_half():
    curve = Curve(
        thresholds=np.array([0.25, 0.4999, 0.75]),
        true_positives=np.array([9.0, 8.0, 5.0]),
        false_positives=np.array([6.0, 2.0, 1.0]),
        true_negatives=np.array([4.0, 8.0, 9.0]),
        false_negatives=np.array([1.0, 2.0, 5.0]),
    )
    assert analysis.confusion_at(curve) == {
        "threshold": 0.4999,
        "true_positives": 8.0,
        "false_positives": 2.0,
        "true_negatives": 8.0,
        "false_negatives": 2.0,
    }
    np.testing.assert_allclose(curve.true_positive_rate, [0.9, 0.8, 0.5])
    np.testing.assert_allclose(curve.false_positive_rate, [0.6, 0.2, 0.1])
    assert analysis.best_epoch({"val_loss": [0.6, 0.4, 0.5]}) == 2
    assert analysis.best_epoch({"loss": [0.6]}) is None


def _write_records(path: Path, count: int, compression: str) -> None:
    with tf.io.TFRecordWriter(str(path), options=compression) as writer:
        for i in range(count):
            writer.write(f"record {i}".encode())


def test_quarantine_is_counted_per_reason_and_none_without_quarantine_output(tmp_path):
    examples = tmp_path / "examples"
    (examples / "Split-train").mkdir(parents=True)
    assert read_quarantine(ArtifactRef(str(examples))) == (None, {})
    # ExampleGen's properties: the total and one per reason, zeros included.
    properties = {"quarantined": 3, "quarantined_empty": 0, "quarantined_invalid_utf8": 3, "span": 0}
    assert read_quarantine(ArtifactRef(str(examples), properties)) == (
        {"invalid_utf8": 3},
        {},
    )
    properties = {"quarantined": 0, "quarantined_empty": 0}
    assert read_quarantine(ArtifactRef(str(examples), properties)) == ({}, {})

    quarantine = examples / QUARANTINE_DIR
    (quarantine / "Split-test").mkdir(parents=True)
    _write_records(quarantine / "Split-test" / "data-00000-of-00002.gz", 2, "GZIP")
    _write_records(quarantine / "Split-test" / "data-00001-of-00002.gz", 1, "GZIP")
    (quarantine / "Split-eval").mkdir()  # plain TFRecords, as this pipeline writes them now
    _write_records(quarantine / "Split-eval" / "data-00000-of-00001.tfrecord", 4, "")
    (quarantine / "reasons.jsonl").write_text('{"source": "a"}\n{"source": "b"}\n\n', encoding="utf-8")
    assert read_quarantine(ArtifactRef(str(examples))) == (
        {"Split-eval": 4, "Split-test": 3, "reasons.jsonl": 2},
        {},
    )
    # The summary ExampleGen writes beside the quarantined records wins.
    summary = {
        "counts": {"empty": 1, "duplicate": 4, "binary": 0},
        "samples": {"empty": ["/d/train/pos/0_9.txt"], "duplicate": ["a", "b"]},
        "reviews_read": 10,
        "split_folders": {},
    }
    (quarantine / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    assert read_quarantine(ArtifactRef(str(examples))) == (
        {"duplicate": 4, "empty": 1},
        {"empty": ("/d/train/pos/0_9.txt",), "duplicate": ("a", "b")},
    )


# --- the page -----------------------------------------------------------------------------------


def _split(name: str, labels: dict[str, int], lengths: dict[int, int]) -> SplitStatistics:
    """A split of ``sum(labels.values())`` reviews with these lengths (tokens per review -> reviews)."""
    examples = sum(labels.values())
    return SplitStatistics(name, examples, labels, {}, lengths, 0, None, 0, (), 0)


def _small_report() -> ReportData:
    evaluation = EvaluationReport(
        candidate="candidate",
        baseline="baseline",
        metrics={
            "candidate": {"example_count": 4.0, "accuracy": 0.75, "auc": 0.8125},
            "baseline": {"example_count": 4.0, "accuracy": 0.5, "auc": 0.625},
        },
        diffs={"accuracy": 0.25, "auc": 0.1875},
        curves={
            "candidate": Curve(
                np.array([0.25, 0.5, 0.75]),
                np.array([2.0, 2.0, 1.0]),
                np.array([2.0, 1.0, 0.0]),
                np.array([0.0, 1.0, 2.0]),
                np.array([0.0, 0.0, 1.0]),
            )
        },
        calibration={
            "candidate": (
                CalibrationBucket(0.0, 0.5, 2.0, 0.3, 0.5),
                CalibrationBucket(0.5, 1.0, 2.0, 0.7, 0.5),
            )
        },
        checks=(
            ThresholdCheck("accuracy", ">= 0.7", 0.75, True),
            ThresholdCheck("auc", "candidate - baseline >= -0.01", 0.1875, True, change=True),
        ),
        validation_ok=True,
        failures=(),
        blessed=True,
    )
    return ReportData(
        title="tiny run report",
        generated_at="2026-01-01T00:00:00+00:00",
        data=DataReport(
            uri="/runs/examples",
            splits=(
                _split(features.TRAIN, {"negative": 2, "positive": 2}, {12: 1, 40: 1, 300: 1, 80: 1}),
                _split(features.UNSUP, {"unlabeled": 3}, {}),
            ),
            max_length=64,
            quarantine={"invalid_utf8": 2},
            quarantine_samples={"invalid_utf8": ("/d/train/pos/7_8.txt", "/d/test/neg/1_2.txt")},
            leakage=Duplicates(
                leaks=((features.TEST, (features.TRAIN, features.EVAL), 1, 1),),
                groups=1,
                shown_groups=(
                    DuplicateGroup(
                        (
                            (features.TEST, "test/neg/2_1.txt", "negative"),
                            (features.TRAIN, "train/pos/1_9.txt", "positive"),
                        ),
                        "<script>alert(1)</script>",
                    ),
                ),
                within_split={features.TRAIN: 0, features.TEST: 0},
            ),
        ),
        embeddings=None,
        training=TrainingReport({"loss": [0.7, 0.5], "val_loss": [0.69, 0.6]}, best_epoch=2),
        evaluation=evaluation,
        lineage=LineageReport(
            data="/data/aclImdb_v1.tar.gz",
            span=0,
            fingerprint=None,
            step_properties={"Trainer": {"options": '{"epochs": 2}'}},
            versions={"tensorflow": "2.21.0"},
            artifacts=(("evaluation", "/runs/eval"),),
            push=pushed_model.Push(True, "1700000000", "/serving/imdb/1700000000"),
        ),
        canary=dict(
            blessed=False,
            failures=["probe 'empty' via serving_default: nan is not a finite probability in [0, 1]"],
            probes=[
                {
                    "name": "empty",
                    "bytes": 0,
                    "expected": None,
                    "probabilities": {"serving_default": "nan", "serving_tf_example": 0.5},
                    "ok": False,
                },
                {
                    "name": "clear_positive",
                    "bytes": 175,
                    "expected": "positive",
                    "probabilities": {"serving_default": 0.9, "serving_tf_example": 0.9},
                    "ok": True,
                },
            ],
            load_seconds=1.5,
            batch_seconds={"serving_default": 0.01, "serving_tf_example": 0.02},
            limits={"max_load_seconds": 60.0, "max_batch_seconds": 5.0},
        ),
    )


def test_a_run_the_drift_check_stopped_says_so_instead_of_no_drift_check():
    """TFX publishes nothing of a failed DriftCheck: the page names the failed step, not an absent check."""
    report = _small_report()
    assert 'id="drift">No drift check in this run.' in render.render_report(report)
    steps = (
        StepRecord("StatisticsGen", "COMPLETE", 8, 1.0),
        StepRecord("DriftCheck", "FAILED", 10, 0.1),
    )
    stopped = dataclasses.replace(report, lineage=dataclasses.replace(report.lineage, steps=steps))
    text = render.render_report(stopped)
    assert "No drift check in this run." not in text
    assert re.search(
        r'<p class="fail" id="drift">The drift check stopped this run\s+\(DriftCheck execution 10 failed\)',
        text,
    )


@pytest.mark.parametrize(
    ("spans", "said"),
    [
        ((3, 1, 2, 1), "<p>Spans 2 to 3 against span 1.</p>"),  # was "Span 3 against span 1"
        ((4, 2, 3, 1), "<p>Spans 3 to 4 against spans 1 to 2.</p>"),
        ((2, 1, 2, 1), "<p>Span 2 against span 1.</p>"),
        ((2, 1, None, None), "<p>Span 2 against span 1.</p>"),  # drift.json written before windows
        ((2, None, 1, None), "<p>Spans 1 to 2 (no earlier span: train against test only).</p>"),
    ],
)
def test_the_drift_section_names_the_spans_compared(spans, said):
    report = _small_report()
    drift = DriftFindings([], *spans)
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert said in text


def test_report_page_shows_each_section_and_says_what_is_absent():
    text = render.render_report(_small_report())
    page = _Page(text)
    assert set(SECTIONS) <= page.ids
    assert page.metrics == {
        ("candidate", "example_count"): 4.0,
        ("candidate", "accuracy"): 0.75,
        ("candidate", "auc"): 0.8125,
        ("baseline", "example_count"): 4.0,
        ("baseline", "accuracy"): 0.5,
        ("baseline", "auc"): 0.625,
    }
    images = _png_images(page, Path("."))
    assert sorted(images) == [
        "Calibration plot",
        "Confusion matrix",
        "Histogram of review lengths per split",
        "Loss and accuracy per epoch",
        "ROC curve",
    ]
    assert "No vocabulary or embedding artifacts in this run." in text
    assert '<td class="num" data-quarantined="2">2</td>' in text
    assert "<code>/d/train/pos/7_8.txt</code>" in text
    # Review text is escaped, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>" not in text
    assert "conflicting labels" in text
    assert "+0.1875" in text  # the change threshold's value, signed
    assert "version <strong>1700000000</strong>" in text
    # The canary: verdict, reasons and every probe through both signatures.
    assert "canary <strong>FAILED</strong>" in text
    assert '<strong class="fail">FAILED: not pushed</strong>' in text
    assert (
        "<li>probe &#39;empty&#39; via serving_default: nan is not a finite probability in [0, 1]</li>"
        in text
    )
    assert (
        '<tr><td>empty</td><td class="num">0</td><td>finite, in [0, 1]</td><td class="num">nan</td>'
        '<td class="num">0.5000</td><td><span class="fail">fail</span></td></tr>'
    ) in text
    assert (
        '<tr><td>clear_positive</td><td class="num">175</td><td>positive</td><td class="num">0.9000</td>'
        '<td class="num">0.9000</td><td><span class="pass">pass</span></td></tr>'
    ) in text


def test_index_lists_runs_with_metrics_blessing_push_and_links():
    runs = [
        RunEntry("2026-01-02T00:00:00", 0, 10, {"accuracy": 0.875}, True, None, "run-2/report.html"),
        RunEntry("2026-01-01T00:00:00", 10, 0, {"accuracy": 0.5}, False, "1700000000", None),
    ]
    text = render.render_index("imdb runs", runs, generated_at="now")
    page = _Page(text)
    assert page.links == ["run-2/report.html"]
    rows = re.findall(r'<tr data-run="([^"]+)">(.*?)</tr>', text, flags=re.S)
    assert [run_id for run_id, _ in rows] == ["2026-01-02T00:00:00", "2026-01-01T00:00:00"]
    assert "0.8750" in rows[0][1] and BLESSED_CELL in rows[0][1] and "not blessed" not in rows[0][1]
    assert "0.5000" in rows[1][1] and NOT_BLESSED_CELL in rows[1][1] and "1700000000" in rows[1][1]
    assert BLESSED_CELL not in rows[1][1]
    assert '<p class="meta">2 runs, newest first.' in text
    # Before: "1 runs, newest first."
    assert '<p class="meta">1 run, newest first.' in render.render_index("imdb runs", runs[:1], "now")


@pytest.mark.parametrize(
    ("count", "noun", "plural", "shown"),
    [
        (0, "review", None, "0 reviews"),
        (1, "review", None, "1 review"),
        (2, "run", None, "2 runs"),
        (1234, "byte", None, "1,234 bytes"),
        (1, "n-gram id", None, "1 n-gram id"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_a_count_takes_the_form_of_its_noun(count, noun, plural, shown):
    assert counted(count, noun, plural) == shown


def test_index_says_how_each_run_ended_and_names_pipelines_when_there_are_several():
    runs = [
        RunEntry("r3", 2, 0, {}, None, None, None, outcome="unfinished", pipeline_name="imdb-a"),
        RunEntry("r2", 5, 0, {}, None, None, "r2.html", outcome="interrupted", pipeline_name="imdb-b"),
        RunEntry("r1", 14, 0, {"accuracy": 0.5}, True, "7", None, outcome="complete", pipeline_name="imdb-a"),
    ]
    text = render.render_index("runs", runs, generated_at="now")
    header = re.search(r"<tr><th>(.*?)</tr>", text, flags=re.S).group(1)
    assert re.findall(r"<th[^>]*>([^<]+)</th>", "<th>" + header)[:4] == [
        "run",
        "pipeline",
        "ended",
        "executed",
    ]
    cells = [
        re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)[:3]
        for row in re.findall(r'<tr data-run="[^"]+">(.*?)</tr>', text, flags=re.S)
    ]
    assert cells == [
        ["<code>r3</code>", "imdb-a", '<span class="fail">unfinished</span>'],
        ["<code>r2</code>", "imdb-b", '<span class="fail">interrupted</span>'],
        ["<code>r1</code>", "imdb-a", "complete"],
    ]
    # One pipeline: no pipeline column.
    single = render.render_index(
        "runs", [dataclasses.replace(run, pipeline_name=None) for run in runs], "now"
    )
    assert "<th>pipeline</th>" not in single and "<th>ended</th>" in single


@pytest.mark.parametrize(
    ("states", "properties", "outcome"),
    [
        (["COMPLETE", "CACHED", "COMPLETE"], {}, "complete"),
        (["COMPLETE", "FAILED"], {}, "failed"),
        (["COMPLETE", "CANCELED"], {"Trainer": {"stopped_by": "interrupted"}}, "interrupted"),
        (["COMPLETE", "CANCELED"], {"Trainer": {"stopped_by": "terminated"}}, "terminated"),
        (["COMPLETE", "CANCELED"], {}, "stopped"),
        (["COMPLETE", "RUNNING"], {}, "unfinished"),  # going on now, or killed (SIGKILL)
        (["CANCELED", "FAILED"], {"ExampleGen": {"stopped_by": "terminated"}}, "failed"),
    ],
)
def test_a_runs_outcome_is_read_from_its_steps_states(states, properties, outcome):
    nodes = ["ExampleGen", "Trainer", "Pusher"]
    steps = tuple(
        StepRecord(node, state, i, 1.0) for i, (node, state) in enumerate(zip(nodes, states, strict=False))
    )
    assert RunRecord("r", "imdb", steps, {}, properties, None).outcome == outcome


def test_a_run_a_signal_stopped_between_two_steps_reads_stopped_though_every_step_it_made_ended_well():
    steps = (StepRecord("ExampleGen", "COMPLETE", 1, 1.0), StepRecord("Trainer", "CACHED", 2, 1.0))
    assert RunRecord("r", "imdb", steps, {}, {}, None, stopped_by="terminated").outcome == "terminated"
    failed = (*steps, StepRecord("Pusher", "FAILED", 3, 1.0))
    assert RunRecord("r", "imdb", failed, {}, {}, None, stopped_by="terminated").outcome == "failed"


def test_the_templates_ship_in_the_wheel_and_render_from_the_installed_package(tmp_path):
    """The templates are package data: a wheel built from setup.py holds them, and a fresh
    process that finds the package only there renders the same page as this checkout."""
    repo = Path(__file__).resolve().parents[1]
    source = tmp_path / "source"
    source.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy(repo / name, source / name)
    for package in ("components", "pipeline", "schemas"):
        shutil.copytree(repo / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert sorted(n for n in archive.namelist() if "/templates/" in n) == [
            "components/report/templates/index.html",
            "components/report/templates/report.html",
            "components/report/templates/style.css",
        ]
        archive.extractall(installed)
    script = (
        "import importlib.resources, sys\n"
        "from components.report import render\n"
        "from components.report.sections import RunEntry\n"
        "print(importlib.resources.files('components.report').joinpath('templates', 'index.html'))\n"
        "sys.stdout.write(render.render_index('imdb runs', [RunEntry('r1', 0, 1, {'accuracy': 0.5}, True, '7', None)], 'now'))\n"
    )
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    rendered = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env={**environment, "PYTHONPATH": str(installed)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    location, page = rendered.stdout.split("\n", 1)
    assert location == str(installed / "components" / "report" / "templates" / "index.html")
    runs = [RunEntry("r1", 0, 1, {"accuracy": 0.5}, True, "7", None)]
    assert page == render.render_index("imdb runs", runs, "now")
    assert '"Segoe UI"' in page  # the style sheet is included as it is, not escaped


# --- while it runs ------------------------------------------------------------------------------


def test_step_figures_come_from_the_outputs_custom_properties():
    assert describe_outputs(
        [
            (PushedModel.TYPE_NAME, ArtifactRef("/p", {"pushed": 0})),
            (Examples.TYPE_NAME, ArtifactRef("/e", {"quarantined": 1234, "quarantined_empty": 4})),
            (Examples.TYPE_NAME, ArtifactRef("/t", {})),  # Transform's: nothing to tell
            (EmbeddingVectors.TYPE_NAME, ArtifactRef("/v", {"words": 16418, "dimension": 100})),
            (EmbeddingMatrix.TYPE_NAME, ArtifactRef("/m", {"coverage_words": 0.9876})),
            (ModelBlessing.TYPE_NAME, ArtifactRef("/b", {"blessed": 0})),
            (
                InfraBlessing.TYPE_NAME,
                ArtifactRef(
                    "/c", {"blessed": 0, "canary_failures": "probe 'empty' via serving_default: nan"}
                ),
            ),
            (
                InfraBlessing.TYPE_NAME,
                ArtifactRef(
                    "/c",
                    {"blessed": 1, "canary_failures": "", "load_seconds": 1.234, "batch_seconds": 0.0125},
                ),
            ),
            (
                PushedModel.TYPE_NAME,
                ArtifactRef("/p", {"pushed": 1, "pushed_version": "17", "pushed_destination": "/s/17"}),
            ),
        ]
    ) == [
        "1,234 records set aside",
        "16,418 vectors of 100 dimensions",
        "vectors for 98.8% of the vocabulary",
        "NOT blessed",
        "canary FAILED (probe 'empty' via serving_default: nan)",
        "canary passed (load 1.23 s, batch 0.013 s)",
        "not pushed",
        "pushed version 17 to /s/17",
    ]


@pytest.mark.parametrize(
    ("properties", "push"),
    [
        ({"pushed": 0}, pushed_model.Push(pushed=False)),
        ({"pushed": 0, "pushed_version": "3"}, pushed_model.Push(pushed=False)),
        (
            {"pushed": 1, "pushed_version": "17", "pushed_destination": "/s/17"},
            pushed_model.Push(True, "17", "/s/17"),
        ),
    ],
)
def test_the_push_is_read_from_the_pushed_models_properties(properties, push):
    assert pushed_model.read_push(ArtifactRef("/p", properties)) == push
    assert pushed_model.read_push(None) == pushed_model.Push(pushed=None)


@pytest.mark.parametrize(
    ("properties", "described"),
    [
        ({}, None),
        ({"blessed": 1, "canary_failures": ""}, "canary passed"),
        ({"blessed": 0, "canary_failures": "probe 'empty': nan"}, "canary FAILED (probe 'empty': nan)"),
        ({"blessed": 0}, "canary FAILED (no reason recorded)"),
    ],
)
def test_the_canary_verdict_is_told_from_the_infra_blessings_properties(properties, described):
    assert canary_results.describe(ArtifactRef("/c", properties)) == described
    assert canary_results.describe(None) is None


def test_drift_check_figures_count_the_comparisons_over_their_threshold():
    anomalies = "ExampleAnomalies"
    assert describe_outputs(
        [
            (anomalies, ArtifactRef("/v", {})),  # ExampleValidator's: nothing to tell
            (anomalies, ArtifactRef("/d", {"drift_over_threshold": 0, "drift_warnings": ""})),
            (
                anomalies,
                ArtifactRef(
                    "/d",
                    {
                        "drift_over_threshold": 1,
                        "baseline_span": 1,
                        "drift_warnings": "out-of-vocabulary share ...",
                    },
                ),
            ),
        ]
    ) == [
        "0 comparisons over their threshold (train vs test)",
        "1 comparison over their threshold (against span 1 and train vs test)",
        "warning: out-of-vocabulary share ...",
    ]


@pytest.mark.parametrize(
    ("span", "baseline_span", "first_spans", "figure"),
    [
        # Was "against span 2": the properties hold a window's last span only.
        (4, 2, (3, 1), "1 comparison over their threshold (against spans 1 to 2 and train vs test)"),
        (3, 2, (2, 2), "1 comparison over their threshold (against span 2 and train vs test)"),
        (2, 1, (None, None), "1 comparison over their threshold (against span 1 and train vs test)"),
        (1, None, (None, None), "1 comparison over their threshold (train vs test)"),
    ],
)
def test_drift_check_figures_name_the_baseline_window_as_the_report_does(
    tmp_path, span, baseline_span, first_spans, figure
):
    from tfx.types.standard_artifacts import ExampleAnomalies

    from components.artifacts.drift_anomalies import Finding, write_anomalies
    from components.artifacts.ref import artifact_ref

    anomalies = ExampleAnomalies()
    anomalies.uri = str(tmp_path)
    finding = Finding("label", "skew", "train", "test", 0.5, 0.1, "label skew")
    write_anomalies(anomalies, [finding], span, baseline_span, [], first_spans)
    assert describe_outputs([(ExampleAnomalies.TYPE_NAME, artifact_ref(anomalies.mlmd_artifact))]) == [figure]


def test_drift_check_figures_add_the_comparisons_not_made(tmp_path):
    """The step line says how many pairs the check could not compare; none: the line as before."""
    from tfx.types.standard_artifacts import ExampleAnomalies

    from components.artifacts.drift_anomalies import NotCompared, write_anomalies
    from components.artifacts.ref import artifact_ref

    anomalies = ExampleAnomalies()
    anomalies.uri = str(tmp_path)
    not_compared = [
        NotCompared("drift", "test", "span 1", "test of span 2 and span 1", "span 2 has no test split"),
        NotCompared("skew", "train", "test", "train and test of span 2", "span 2 has no test split"),
    ]
    write_anomalies(anomalies, [], 2, 1, [], (2, 1), not_compared)
    assert describe_outputs([(ExampleAnomalies.TYPE_NAME, artifact_ref(anomalies.mlmd_artifact))]) == [
        "0 comparisons over their threshold (against span 1 and train vs test), 2 not compared"
    ]
    assert describe_outputs(
        [("ExampleAnomalies", ArtifactRef("/d", {"drift_over_threshold": 1, "drift_not_compared": 0}))]
    ) == ["1 comparison over their threshold (train vs test)"]


def test_the_drift_section_lists_the_comparisons_not_made():
    from components.artifacts.drift_anomalies import NotCompared

    report = _small_report()
    not_compared = (
        NotCompared("drift", "test", "span 1", "test of span 2 and span 1", "span 2 has no test split"),
        NotCompared("skew", "train", "test", "train and test of span 2", "span 2 has no test split"),
    )
    drift = DriftFindings([], 2, 1, 2, 1, not_compared)
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert (
        "<p>Not compared:</p>\n"
        '<ul id="drift-not-compared">\n'
        '  <li data-kind="drift">test of span 2 and span 1 not compared: span 2 has no test split</li>\n'
        '  <li data-kind="skew">train and test of span 2 not compared: span 2 has no test split</li>\n'
        "</ul>"
    ) in text
    # None not made (or a drift.json written before they were kept): no list.
    drift = DriftFindings([], 2, 1, 2, 1)
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert "Not compared" not in text and "drift-not-compared" not in text


def _handed_over(name: str, baseline: str) -> NotCompared:
    """The DriftCheck's entry for statistics handed over that are not of spans before this run's ``name``."""
    return NotCompared(
        "drift",
        None,
        baseline,
        f"{name} against the baseline handed over",
        f"/stats/8 holds {baseline}, not before this run's {name}",
    )


@pytest.mark.parametrize(
    ("spans", "baseline", "said"),
    [
        (
            (2, None, 2, None),
            "span 2",
            "<p>Span 2 (the statistics handed over are of span 2, not of earlier spans: "
            "train against test only).</p>",
        ),
        (
            (3, None, 2, None),
            "spans 1 to 2",
            "<p>Spans 2 to 3 (the statistics handed over are of spans 1 to 2, not of earlier spans: "
            "train against test only).</p>",
        ),
    ],
)
def test_the_drift_section_says_why_the_statistics_handed_over_were_not_compared(spans, baseline, said):
    """The portable resolver handed over statistics of a span this run reads: was "(no earlier span: ...)"."""
    report = _small_report()
    name = spans_name(spans[2], spans[0])
    drift = DriftFindings([], *spans, [_handed_over(name, baseline)])
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert said in text
    assert (
        "<p>Not compared:</p>\n"
        '<ul id="drift-not-compared">\n'
        f'  <li data-kind="drift">{name} against the baseline handed over not compared: '
        f"/stats/8 holds {baseline}, not before this run&#39;s {name}</li>\n"
        "</ul>"
    ) in text
    assert "no earlier span" not in text


@settings(deadline=None, max_examples=15)  # a page takes about half a second
@given(
    first=st.integers(1, 50),
    width=st.integers(0, 3),
    baseline_first=st.integers(1, 60),
    baseline_width=st.integers(0, 3),
)
def test_statistics_handed_over_are_never_called_no_earlier_span(
    first, width, baseline_first, baseline_width
):
    """Whatever spans the statistics handed over hold, the page and the step line name them."""
    report = _small_report()
    baseline = spans_name(baseline_first, baseline_first + baseline_width)
    name = spans_name(first, first + width)
    drift = DriftFindings([], first + width, None, first, None, [_handed_over(name, baseline)])
    text = render.render_report(
        dataclasses.replace(report, data=dataclasses.replace(report.data, drift=drift))
    )
    assert (
        f"(the statistics handed over are of {baseline}, not of earlier spans: train against test only)"
        in text
    )
    assert "no earlier span" not in text


def test_the_step_line_says_why_the_statistics_handed_over_were_not_compared(tmp_path):
    """As the report: was "0 comparisons over their threshold (train vs test), 1 not compared"."""
    from tfx.types.standard_artifacts import ExampleAnomalies

    from components.artifacts.drift_anomalies import write_anomalies
    from components.artifacts.ref import artifact_ref

    anomalies = ExampleAnomalies()
    anomalies.uri = str(tmp_path)
    write_anomalies(anomalies, [], 3, None, [], (2, None), [_handed_over("spans 2 to 3", "span 2")])
    assert describe_outputs([(ExampleAnomalies.TYPE_NAME, artifact_ref(anomalies.mlmd_artifact))]) == [
        "0 comparisons over their threshold "
        "(train vs test; the statistics handed over are of span 2, not of earlier spans), 1 not compared"
    ]


@pytest.mark.parametrize("damage", [b"", b"{not json", b"null", b'{"findings": 3}'])
def test_a_damaged_drift_json_gives_the_step_line_the_baseline_property(tmp_path, damage):
    """The step line's figures come from the artifact's properties; the report names the damage."""
    from tfx.types.standard_artifacts import ExampleAnomalies

    from components.artifacts.drift_anomalies import DRIFT_FILE, Finding, write_anomalies
    from components.artifacts.ref import artifact_ref

    anomalies = ExampleAnomalies()
    anomalies.uri = str(tmp_path)
    finding = Finding("label", "skew", "train", "test", 0.5, 0.1, "label skew")
    write_anomalies(anomalies, [finding], 4, 2, [], (3, 1))
    (tmp_path / DRIFT_FILE).write_bytes(damage)
    assert describe_outputs([(ExampleAnomalies.TYPE_NAME, artifact_ref(anomalies.mlmd_artifact))]) == [
        "1 comparison over their threshold (against span 2 and train vs test)"
    ]


# --- a real run ---------------------------------------------------------------------------------


def _report_path(output: Path) -> Path:
    (path,) = glob.glob(str(output / "pipeline_root" / "Report" / "report" / "*" / run_report.REPORT_FILE))
    return Path(path)


def _evaluation_metrics(output: Path) -> dict[str, float]:
    import tensorflow_model_analysis as tfma

    (uri,) = glob.glob(str(output / "pipeline_root" / "Evaluator" / "evaluation" / "*"))
    metrics = {}
    # The test split: the slice of the full reviews (the others are its first sentences and parts).
    (test_split,) = [
        metrics_for_slice
        for metrics_for_slice in tfma.load_metrics(uri)
        if [(key.column, key.bytes_value) for key in metrics_for_slice.slice_key.single_slice_keys]
        == [(features.EVALUATION_SET, features.FULL_REVIEW.encode())]
    ]
    for key_and_value in test_split.metric_keys_and_values:
        if key_and_value.value.HasField("double_value") and not key_and_value.key.is_diff:
            metrics[key_and_value.key.name] = key_and_value.value.double_value.value
    return metrics


def _split_sizes(output: Path) -> dict[str, int]:
    (uri,) = glob.glob(str(output / "pipeline_root" / "FileBasedExampleGen" / "examples" / "*"))
    return {
        split: sum(1 for _ in tf.data.TFRecordDataset(sorted(glob.glob(f"{uri}/Split-{split}/*"))))
        for split in (features.TRAIN, features.EVAL, features.TEST, features.UNSUP)
    }


@pytest.mark.slow
def test_report_of_the_end_to_end_run_shows_the_evaluation_artifacts_metrics_and_valid_figures(pushed_run):
    output, first, second = pushed_run
    assert first.returncode == 0, first.stderr[-3000:]
    path = _report_path(output)
    text = path.read_text(encoding="utf-8")
    page = _Page(text)

    assert set(SECTIONS) <= page.ids
    expected = _evaluation_metrics(output)
    shown = {metric: value for (model, metric), value in page.metrics.items() if model == "candidate"}
    assert shown == expected  # exactly the artifact's values, every one of them
    assert f"test accuracy {expected['accuracy']:.4f}" in text

    images = _png_images(page, path.parent)
    assert sorted(images) == REPORT_IMAGES
    assert all(image.width >= 300 and image.height >= 300 for image in images.values())

    for split, count in _split_sizes(output).items():
        assert f'<td class="num" data-examples="{count}">' in text.split(f'data-split="{split}"', 1)[1][:200]
    # The figures are StatisticsGen's, and the drift check's comparisons are shown.
    (statistics_uri,) = glob.glob(str(output / "pipeline_root" / "StatisticsGen" / "statistics" / "*"))
    found = read_statistics(statistics_uri)
    train = found.splits[features.TRAIN]
    assert f'data-oov="{train.oov_share}"' in text.split('data-split="train"', 1)[1][:1000]
    assert f"From StatisticsGen's <code>{statistics_uri}</code>" in text
    assert 'data-check="label" data-kind="skew"' in text

    # Quarantine: what ExampleGen's summary says was set aside, or "none".
    (examples_uri,) = glob.glob(str(output / "pipeline_root" / "FileBasedExampleGen" / "examples" / "*"))
    summary = Path(examples_uri) / QUARANTINE_DIR / SUMMARY_FILE
    counts = (
        {r: c for r, c in json.loads(summary.read_text())["counts"].items() if c} if summary.exists() else {}
    )
    for reason, count in counts.items():
        assert f'<tr><td><code>{reason}</code></td><td class="num" data-quarantined="{count}">' in text
    if not counts:
        assert re.search(r'<p id="quarantine">none: ', text)

    # The confusion matrix drawn is the one TFMA's accuracy counts.
    (evaluation_uri,) = glob.glob(str(output / "pipeline_root" / "Evaluator" / "evaluation" / "*"))
    evaluation = read_inputs.read_evaluation(evaluation_uri)
    counts = evaluation.confusion[evaluation.candidate]
    assert counts["threshold"] == 0.5
    correct = counts["true_positives"] + counts["true_negatives"]
    assert correct / expected["example_count"] == pytest.approx(expected["accuracy"], abs=1e-9)
    assert sum(counts[name] for name in counts if name != "threshold") == expected["example_count"]

    (version,) = os.listdir(output / "serving" / "imdb_sentiment")
    assert f"pushed as version <strong>{version}</strong>" in text
    pushed_copy = output / "serving" / "imdb_sentiment" / version / "report" / run_report.REPORT_FILE
    assert pushed_copy.read_bytes() == path.read_bytes()
    assert json.loads((path.parent / "report.json").read_text())["versions"]["tfx"] == "1.21.0"

    # While it ran: one numbered start and end line per step, with the figures of the outcome.
    evaluator_line = re.search(r"Step (\d+)/(\d+) Evaluator: executed in [\d.]+ s: (.*)", first.stderr)
    assert evaluator_line, first.stderr[-3000:]
    assert evaluator_line.group(3).startswith(
        f"test accuracy {expected['accuracy']:.4f}, auc {expected['auc']:.4f}"
    )
    assert evaluator_line.group(3).endswith("; blessed")
    canary_line = re.search(r"Step \d+/\d+ Canary: executed in [\d.]+ s: (.*)", first.stderr)
    assert canary_line and re.fullmatch(
        r"canary passed \(load [\d.]+ s, batch [\d.]+ s\)", canary_line.group(1)
    )
    # The report shows the canary artifact's probes, every one passed.
    (canary_uri,) = glob.glob(str(output / "pipeline_root" / "Canary" / "blessing" / "*"))
    written = json.loads((Path(canary_uri) / "canary.json").read_text())
    assert written["blessed"] is True and written["failures"] == []
    assert [row["name"] for row in written["probes"]] == [probe.name for probe in PROBES]
    assert '<strong class="pass">PASSED</strong>' in text
    assert text.count('<span class="pass">pass</span></td></tr>') >= len(PROBES)
    total = int(evaluator_line.group(2))
    assert re.search(
        rf"Step {total}/{total} Report: executed in [\d.]+ s: {re.escape(str(path))}", first.stderr
    )
    assert "Pusher: executed in" in first.stderr and f"pushed version {version} to " in first.stderr
    assert re.search(rf"Step {total}/{total} Report: cached in [\d.]+ s", second.stderr), second.stderr[
        -3000:
    ]


def _report_command(cwd: Path, *args: str) -> tuple[Path, Path]:
    """Runs ``imdb-pipeline report ARGS``; the report and the index it says it wrote."""
    result = run_cli("report", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    report_line, index_line = result.stdout.strip().splitlines()
    return Path(report_line.removeprefix("report: ")), Path(index_line.removeprefix("index:  "))


@pytest.mark.slow
def test_report_command_rerenders_the_newest_run_and_indexes_every_run(pushed_run, tmp_path):
    output, _, _ = pushed_run
    rerendered, index = _report_command(tmp_path, "--output", str(output))
    assert index == output / "reports" / "index.html"
    assert rerendered.parent.parent == output / "reports"

    page = _Page(rerendered.read_text(encoding="utf-8"))
    expected = _evaluation_metrics(output)
    assert {
        metric: value for (model, metric), value in page.metrics.items() if model == "candidate"
    } == expected
    assert "steps" in page.ids  # re-rendered from ML Metadata: the run's steps, all cached
    rerendered_images = _png_images(page, rerendered.parent)
    assert sorted(rerendered_images) == REPORT_IMAGES

    text = index.read_text(encoding="utf-8")
    rows = re.findall(r'<tr data-run="([^"]+)">(.*?)</tr>', text, flags=re.S)
    assert len(rows) == 2  # the two runs of the fixture, newest first
    newest, oldest = rows
    assert [re.findall(r"<td[^>]*>(.*?)</td>", row)[1] for _, row in rows] == ["complete", "complete"]
    assert rerendered.parent.name == re.sub(r"[^A-Za-z0-9._-]", "-", newest[0])
    assert f"{expected['accuracy']:.4f}" in newest[1] and BLESSED_CELL in newest[1]
    assert "not blessed" not in newest[1]
    (version,) = os.listdir(output / "serving" / "imdb_sentiment")
    assert version in oldest[1]  # the first run pushed; the cached second one pushed nothing new
    for link in _Page(text).links:
        assert (index.parent / link).is_file(), link


@pytest.mark.parametrize("made", [False, True], ids=["no-folder", "empty-folder"])
def test_an_evaluation_whose_files_were_removed_is_named(tmp_path, made):
    """TFMA asserted (`assert len(validation_records) == 1`) on a folder without its files: a traceback."""
    from components.artifacts import evaluation as evaluation_artifact

    uri = tmp_path / "Evaluator" / "evaluation" / "12"
    if made:
        uri.mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as raised:
        evaluation_artifact.read_evaluation(str(uri))
    assert str(raised.value) == (
        f"{uri} holds no evaluation: its files were removed, or it is not a ModelEvaluation artifact"
    )


@pytest.mark.slow
def test_report_on_runs_whose_evaluation_was_cleaned_up_names_it_and_the_index_lists_them(
    pushed_run, tmp_path, caplog
):
    """One old run with its Evaluator folder removed made `report` fail with TFMA's AssertionError for every
    run: the index lists such runs without metrics (a warning says why); that run's page names the folder."""
    from pipeline import rerender

    output, _, _ = pushed_run
    evaluator = output / "pipeline_root" / "Evaluator"
    (uri,) = (output / "pipeline_root" / "Evaluator" / "evaluation").iterdir()
    accuracy = f"{_evaluation_metrics(output)['accuracy']:.4f}"
    aside = tmp_path / "Evaluator"
    shutil.move(evaluator, aside)
    try:
        index = Path(rerender.write_index(str(output), reports=str(tmp_path / "reports")))
        result = run_cli("report", "--output", str(output), "--reports", str(tmp_path / "r"), cwd=tmp_path)
    finally:
        shutil.move(aside, evaluator)
    rows = re.findall(r'<tr data-run="([^"]+)">(.*?)</tr>', index.read_text(encoding="utf-8"), flags=re.S)
    assert len(rows) == 2 and all(accuracy not in row for _, row in rows)  # listed, without metrics
    missing = f"{uri} holds no evaluation: its files were removed, or it is not a ModelEvaluation artifact"
    assert sorted(r.getMessage() for r in caplog.records if r.name == "pipeline.summary") == sorted(
        f"Run {run_id}: {missing}: its metrics are not shown" for run_id, _ in rows
    )
    assert result.returncode == 1
    newest = rows[0][0]
    assert f"imdb-pipeline report: FAILED: run {newest}: {missing}" in result.stderr, result.stderr[-2000:]


@pytest.mark.slow
def test_report_of_a_moved_output_says_it_was_moved_and_where_its_records_point(pushed_run, tmp_path):
    """It failed with tf.Transform's "Schema file ... does not exist" (exit 1): now a usage error, before
    anything is read, naming the path the records hold, the folder it was moved from and what to do."""
    from pipeline.run_records import list_runs, open_store

    output, _, _ = pushed_run
    newest = next(list_runs(open_store(str(output / "metadata.sqlite"))))
    uris = sorted(ref.uri for ref in newest.inputs.values())
    moved = tmp_path / "moved"
    shutil.move(output, moved)
    try:
        result = run_cli("report", "--output", str(moved), "--reports", str(tmp_path / "r"), cwd=tmp_path)
    finally:
        shutil.move(moved, output)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip().splitlines()[-1] == (
        f"imdb-pipeline report: run {newest.run_id}: its records point at {uris[0]} (and {len(uris) - 1} more "
        f"of its artifacts), which no longer exists: the output seems to have been moved from {output} to "
        f"{moved} (ML Metadata keeps absolute paths); move or copy it back to {output} to report its runs, or "
        "run the pipeline into a new output folder"
    )
    assert "which the report reads" not in result.stderr  # it reads nothing of the folder that is gone
    assert uris[0].startswith(f"{output}/pipeline_root/") and len(uris) > 5
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_report_command_writes_to_another_folder_and_leaves_the_output_as_it_was(pushed_run, tmp_path):
    """``--reports DIR``: for an output that cannot be written to (a read-only mount of the runs)."""
    output, _, _ = pushed_run
    before = sorted((str(path), path.stat().st_mtime_ns) for path in output.rglob("*"))
    rerendered, index = _report_command(tmp_path, "--output", str(output), "--reports", "elsewhere")
    assert index == tmp_path / "elsewhere" / "index.html"
    assert rerendered.parent.parent == tmp_path / "elsewhere"
    assert (
        sorted(_png_images(_Page(rerendered.read_text(encoding="utf-8")), rerendered.parent)) == REPORT_IMAGES
    )
    assert sorted((str(path), path.stat().st_mtime_ns) for path in output.rglob("*")) == before
    links = _Page(index.read_text(encoding="utf-8")).links
    assert links and all((index.parent / link).is_file() for link in links)


@pytest.mark.slow
def test_report_renders_in_a_headless_browser(pushed_run, tmp_path):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"optional: {CHROMIUM} is not installed (Debian package chromium)")
    import subprocess

    output, _, _ = pushed_run
    page = tmp_path / "report.html"
    shutil.copy(_report_path(output), page)
    screenshot = tmp_path / "screenshot.png"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--window-size=1200,2000",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pixels = np.asarray(Image.open(screenshot).convert("L"), dtype=np.float64)
    assert pixels.shape == (2000, 1200)
    assert pixels.std() > 20  # text, tables and figures, not a blank page
    # The page's top is the report's header: dark text on a white page.
    assert np.median(pixels) > 200 and pixels.min() < 60


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", "the metadata store holds no run of pipeline 'nope'; it holds runs of imdb-sentiment"),
        (
            "",
            "--pipeline-name is empty: the metadata store holds no run of pipeline ''; it holds runs of "
            "imdb-sentiment",
        ),
    ],
)
def test_report_command_names_the_pipelines_of_the_store_for_a_name_it_has_no_run_of(tmp_path, name, message):
    """Before: 'the metadata store has no pipeline run', of a store that holds runs of another pipeline."""
    from tests.test_hostile_31a import _store_with_one_run

    _store_with_one_run(tmp_path / "out")
    result = run_cli("report", "--output", "out", f"--pipeline-name={name}", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"imdb-pipeline report: {message}"


@pytest.mark.parametrize("flag", ["--output", "--reports"])
def test_report_command_refuses_an_empty_folder_name(tmp_path, flag):
    result = run_cli("report", flag, " ", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"imdb-pipeline report: {flag} is empty: name a folder"
    assert not list(tmp_path.iterdir())


def test_report_of_one_pipeline_keeps_every_run_in_the_index(tmp_path):
    """Before: ``--pipeline-name imdb-a`` rewrote the index with imdb-a's runs alone."""
    first, second = sqlite_store_with_runs(tmp_path / "out", "imdb-a", "imdb-b")
    result = run_cli("report", "--output", "out", "--pipeline-name", "imdb-a", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = tmp_path / "out" / "reports"
    assert result.stdout.splitlines() == [
        f"report: {reports / run_dir_name(first) / 'report.html'}",
        f"index:  {reports / 'index.html'}",
    ]
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert "<title>imdb-a, imdb-b runs</title>" in index
    assert re.findall(r'<tr data-run="([^"]+)">', index) == [second, first]  # newest first
