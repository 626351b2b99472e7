"""The drift check across spans: a span whose label balance moved stops the run before training, or warns.

Span 1 is the bundled sample; spans 2, 3 and 4 are the same sample less three
of every four negative reviews (train and test), so the label balance moves
from about 0.5 to about 0.8 positive and stays there. A stopped span is never
the next one's baseline: span 3 is stopped too, until a run with the action
``warn`` accepts it; span 4 is then compared with span 3 and passes. An unshifted span passing the check is part of
tests/test_scheduled_runs.py (span 2 there is a copy of span 1). A window of spans read together
(``--num-spans 2``) is compared with the window before its first span. A split a span lacks is
recorded as not compared, in drift.json, the report and the step line.
"""

import io
import os
from pathlib import Path
import re
import tarfile

import pytest

from components.artifacts import drift_anomalies, run_report, statistics
from components.statistics.drift import DriftError
from pipeline.config import SAMPLE_DATA
from tests.test_scheduled_runs import _run, _served_versions, _write_span

pytestmark = pytest.mark.slow


def _write_shifted_span(root, span, shifted=True, marked=False):
    """<root>/span-<span>/aclImdb_sample.tar.gz: the sample without 3 of every 4 negative reviews (unless
    not ``shifted``); ``marked``: each review ends with `` Span <span>.``, so no span repeats another's."""
    os.makedirs(os.path.join(root, f"span-{span}"))
    negatives = 0
    with (
        tarfile.open(SAMPLE_DATA) as source,
        tarfile.open(os.path.join(root, f"span-{span}", SAMPLE_DATA.name), "w:gz") as target,
    ):
        for member in source:
            if member.isfile() and "/neg/" in member.name and shifted:
                negatives += 1
                if negatives % 4:
                    continue
            data = source.extractfile(member).read() if member.isfile() else None
            if (
                data is not None
                and marked
                and any(f"/{part}/" in member.name for part in ("pos", "neg", "unsup"))
            ):
                data += f" Span {span}.".encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)


def _latest(output, step, key):
    folder = output / "pipeline_root" / step / key
    return str(folder / max(os.listdir(folder), key=int))


def _first(output):
    """Span 1's statistics: the first StatisticsGen output."""
    folder = output / "pipeline_root" / "StatisticsGen" / "statistics"
    return str(folder / _executions(output, "StatisticsGen", "statistics")[0])


def _executions(output, step, key):
    folder = output / "pipeline_root" / step / key
    return sorted(os.listdir(folder), key=int) if folder.exists() else []


@pytest.fixture(scope="module")
def spans(tmp_path_factory):
    root = tmp_path_factory.mktemp("drift")
    spans = root / "spans"
    _write_span(spans, 1)
    output = root / "out"
    first = _run(output, str(spans))
    assert first.pushed_destination
    _write_shifted_span(spans, 2)
    return output, str(spans)


def test_a_shifted_label_balance_stops_the_run_before_the_trainer(spans):
    output, spans_root = spans
    served = _served_versions(output)
    models = _executions(output, "Trainer", "model")
    with pytest.raises(DriftError) as raised:
        _run(output, spans_root)
    message = str(raised.value)

    first = statistics.read_statistics(_first(output))
    second = statistics.read_statistics(_latest(output, "StatisticsGen", "statistics"))
    before, after = first.splits["train"].positive_share, second.splits["train"].positive_share
    assert (first.span, second.span) == (1, 2)
    assert 0.45 < before < 0.55 and after > 0.75
    assert (
        f"label balance of train moved from {before:.2f} positive (span 1) to {after:.2f} positive (span 2): "
        f"L-infinity {after - before:.3f} > 0.1"
    ) in message
    # Nothing was trained or pushed for span 2.
    assert _executions(output, "Trainer", "model") == models
    assert _served_versions(output) == served
    # A failed step publishes nothing: the message is the record (the warn run below keeps the artifact).
    assert "its action is stop: nothing is trained" in message


def test_the_drift_persisting_a_second_night_stops_again_against_the_last_passed_span(spans, caplog):
    output, spans_root = spans
    _write_shifted_span(spans_root, 3)
    models = _executions(output, "Trainer", "model")
    with (
        caplog.at_level("INFO", logger="components.statistics.baseline"),
        pytest.raises(DriftError) as raised,
    ):
        _run(output, spans_root)
    first = statistics.read_statistics(_first(output)).splits["train"].positive_share
    third = statistics.read_statistics(_latest(output, "StatisticsGen", "statistics"))
    after = third.splits["train"].positive_share
    assert third.span == 3
    assert (
        f"label balance of train moved from {first:.2f} positive (span 1) to {after:.2f} positive (span 3): "
        f"L-infinity {after - first:.3f} > 0.1"
    ) in str(raised.value)
    assert (
        "Previous statistics: span 2 not passed by a drift check (stopped, or not reached): compared with span 1"
        in caplog.messages
    )
    assert _executions(output, "Trainer", "model") == models


def test_with_warn_the_shifted_span_trains_and_the_summary_carries_the_warning(spans):
    output, spans_root = spans
    models = _executions(output, "Trainer", "model")
    summary = _run(output, spans_root, drift={"label_action": "warn"})
    assert dict(summary.steps)["Trainer"] == "COMPLETE"
    assert len(_executions(output, "Trainer", "model")) == len(models) + 1
    assert "label balance of train moved from 0.4" in summary.drift_warnings
    assert f"drift warning: {summary.drift_warnings}" in summary.one_line()
    findings, *spans = drift_anomalies.read_findings(_latest(output, "DriftCheck", "anomalies"))[:5]
    assert spans == [3, 1, 3, 1]
    over = {(f.check, f.kind, f.split) for f in findings if f.exceeded}
    assert {("label", "drift", "train"), ("label", "drift", "test")} <= over
    assert not any(f.exceeded for f in findings if f.check == "length")


def test_once_accepted_the_shifted_data_is_the_baseline_of_the_next_span(spans):
    output, spans_root = spans
    _write_shifted_span(spans_root, 4)
    summary = _run(output, spans_root)
    assert dict(summary.steps)["Trainer"] == "COMPLETE"
    findings, *spans = drift_anomalies.read_findings(_latest(output, "DriftCheck", "anomalies"))[:5]
    assert spans == [4, 3, 4, 3]
    label = {f.split: f for f in findings if f.check == "label" and f.kind == "drift"}
    assert label["train"].distance == 0.0 and not summary.drift_warnings


def test_a_window_of_spans_is_compared_with_the_window_before_its_first_span(tmp_path, caplog):
    """--num-spans 2: spans 3 to 4 (shifted) against spans 1 to 2, not against span 3 or 2 it overlaps."""
    spans_root = tmp_path / "spans"
    for span in (1, 2):
        _write_shifted_span(spans_root, span, shifted=False, marked=True)
    output = tmp_path / "out"
    assert _run(output, str(spans_root), span=2, num_spans=2).pushed_destination
    for span in (3, 4):
        _write_shifted_span(spans_root, span, marked=True)
    with (
        caplog.at_level("INFO", logger="components.statistics.executor"),
        pytest.raises(DriftError) as raised,
    ):
        _run(output, str(spans_root), span=4, num_spans=2)

    first = statistics.read_statistics(_first(output))
    window = statistics.read_statistics(_latest(output, "StatisticsGen", "statistics"))
    assert (first.first_span, first.span, window.first_span, window.span) == (1, 2, 3, 4)
    before, after = first.splits["train"].positive_share, window.splits["train"].positive_share
    assert (
        f"label balance of train moved from {before:.2f} positive (spans 1 to 2) to {after:.2f} positive "
        f"(spans 3 to 4): L-infinity {after - before:.3f} > 0.1"
    ) in str(raised.value)
    assert f"DriftCheck: start, spans 3 to 4 against spans 1 to 2 ({_first(output)})" in caplog.messages


def test_a_split_the_new_span_lacks_is_recorded_not_compared_in_drift_json_the_report_and_the_step_line(
    tmp_path, caplog
):
    """Span 2 is the sample without its unsup reviews (one without test reviews is refused by ExampleGen:
    a classifier needs both labels there); its eval split is below drift.min_examples in both spans."""
    spans_root = tmp_path / "spans"
    _write_span(spans_root, 1)
    output = tmp_path / "out"
    _run(output, str(spans_root))
    os.makedirs(spans_root / "span-2")
    with (
        tarfile.open(SAMPLE_DATA) as source,
        tarfile.open(spans_root / "span-2" / SAMPLE_DATA.name, "w:gz") as target,
    ):
        for member in source:
            if "/unsup" not in member.name:
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    # Only the second run's step lines: the first run's are caught too when an earlier test in this process
    # set the root logger to INFO (the CLI's logging set-up).
    caplog.clear()
    with caplog.at_level("INFO", logger="pipeline.step_log"):
        summary = _run(output, str(spans_root))
    assert dict(summary.steps)["Trainer"] == "COMPLETE"

    first, second = (
        statistics.read_statistics(uri)
        for uri in (_first(output), _latest(output, "StatisticsGen", "statistics"))
    )
    eval_sizes = (second.splits["eval"].examples, first.splits["eval"].examples)
    assert first.splits["unsup"].examples > 0 and second.splits["unsup"].examples == 0
    assert max(eval_sizes) < 500
    drift = drift_anomalies.read_findings(_latest(output, "DriftCheck", "anomalies"))
    assert drift.not_compared == [
        drift_anomalies.NotCompared(
            "drift",
            "eval",
            "span 1",
            "eval of span 2 and span 1",
            "{} and {} examples, fewer than drift.min_examples (500)".format(*eval_sizes),
        ),
        drift_anomalies.NotCompared(
            "drift", "unsup", "span 1", "unsup of span 2 and span 1", "span 2 has no unsup examples"
        ),
    ]
    # Every other pair was compared: train and test with span 1's, and train with test.
    assert {(f.kind, f.split) for f in drift.findings} == {
        ("drift", "train"),
        ("drift", "test"),
        ("skew", "train"),
    }

    report = (Path(_latest(output, "Report", "report")) / run_report.REPORT_FILE).read_text(encoding="utf-8")
    assert (
        '<ul id="drift-not-compared">\n'
        '  <li data-kind="drift">eval of span 2 and span 1 not compared: {} and {} examples, fewer than '
        "drift.min_examples (500)</li>\n"
        '  <li data-kind="drift">unsup of span 2 and span 1 not compared: span 2 has no unsup examples</li>\n'
    ).format(*eval_sizes) in report
    (line,) = [
        message for message in caplog.messages if re.match(r"Step \d+/\d+ DriftCheck: executed", message)
    ]
    assert line.endswith(
        ": 0 comparisons over their threshold (against span 1 and train vs test), 2 not compared"
    )
