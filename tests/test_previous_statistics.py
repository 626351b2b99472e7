"""The drift check's baseline: the latest statistics of an earlier span that a drift check passed."""

import logging

from ml_metadata.proto import metadata_store_pb2
import pytest
from tfx.types import standard_artifacts

from components.artifacts import statistics as statistics_contract
from components.statistics.baseline import PreviousSpanStatisticsStrategy
from tests.metadata_records import in_memory_store, put_artifact, put_execution

COMPLETE, CACHED, FAILED, CANCELED, RUNNING = (
    metadata_store_pb2.Execution.COMPLETE,
    metadata_store_pb2.Execution.CACHED,
    metadata_store_pb2.Execution.FAILED,
    metadata_store_pb2.Execution.CANCELED,
    metadata_store_pb2.Execution.RUNNING,
)


@pytest.fixture
def store():
    return in_memory_store()


def _span(store, span, check_state=None, first_span=None):
    """Statistics of ``span`` (of spans ``first_span`` to ``span``: a window), and a DriftCheck execution
    over them in ``check_state`` (None: none ran). A check that completed or was cached published its
    anomalies; one that failed or stopped did not."""
    window = {} if first_span is None else {statistics_contract.FIRST_SPAN_PROPERTY: first_span}
    statistics = put_artifact(store, standard_artifacts.ExampleStatistics, span=span, **window)
    if check_state is not None:
        outputs = (
            {"anomalies": put_artifact(store, standard_artifacts.ExampleAnomalies)}
            if check_state in (COMPLETE, CACHED)
            else {}
        )
        put_execution(store, {"statistics": statistics}, outputs, check_state)
    return statistics


def _resolve(store, candidates, current):
    result = PreviousSpanStatisticsStrategy().resolve_artifacts(
        store, {"statistics": candidates, "current": [current]}
    )
    assert result["current"] == [current]
    return [artifact.id for artifact in result["statistics"]]


def test_a_span_the_drift_check_stopped_is_never_the_baseline(store, caplog):
    first = _span(store, 1, COMPLETE)
    second = _span(store, 2, FAILED)  # stopped: the drift persisted
    third = _span(store, 3)
    with caplog.at_level(logging.INFO, logger="components.statistics.baseline"):
        assert _resolve(store, [first, second, third], third) == [first.id]
    assert (
        "Previous statistics: span 2 not passed by a drift check (stopped, or not reached): compared with span 1"
        in caplog.messages
    )


def test_a_passed_span_is_the_baseline_however_its_check_passed(store):
    for state in (COMPLETE, CACHED):
        first = _span(store, 1, COMPLETE)
        second = _span(store, 2, state)
        current = _span(store, 3)
        assert _resolve(store, [first, second, current], current) == [second.id]


@pytest.mark.parametrize("state", [None, FAILED, CANCELED, RUNNING])
def test_statistics_no_drift_check_finished_with_are_left_out(store, state):
    first = _span(store, 1, CACHED)
    second = _span(store, 2, state)
    current = _span(store, 3)
    assert _resolve(store, [first, second, current], current) == [first.id]


def test_a_finished_execution_that_published_no_anomalies_did_not_pass_the_statistics(store):
    """Another step reading the statistics (the resolver itself, the report) is not a drift check."""
    first = _span(store, 1)
    put_execution(store, {"statistics": first}, {"statistics": first})
    current = _span(store, 2)
    assert _resolve(store, [first, current], current) == []


def test_a_span_accepted_on_a_later_run_is_the_baseline_again(store):
    """Stopped, then re-run with the check's action warn: the same statistics, now passed."""
    first = _span(store, 1, COMPLETE)
    second = _span(store, 2, FAILED)
    put_execution(
        store, {"statistics": second}, {"anomalies": put_artifact(store, standard_artifacts.ExampleAnomalies)}
    )
    current = _span(store, 3)
    assert _resolve(store, [first, second, current], current) == [second.id]


def test_the_newest_passed_statistics_of_the_highest_earlier_span(store, caplog):
    old = _span(store, 2, COMPLETE)
    new = _span(store, 2, COMPLETE)
    refused = _span(store, 2, FAILED)  # span 2 again, other data, stopped: its passed statistics stay
    current = _span(store, 3)
    same = _span(store, 3, COMPLETE)  # this span's own statistics, from an earlier run: never a baseline
    with caplog.at_level(logging.INFO, logger="components.statistics.baseline"):
        assert _resolve(store, [old, new, refused, same, current], current) == [new.id]
    assert not caplog.messages


def test_first_span_and_nothing_passed(store, caplog):
    current = _span(store, 1)
    assert _resolve(store, [current], current) == []
    second = _span(store, 2)
    with caplog.at_level(logging.INFO, logger="components.statistics.baseline"):
        assert _resolve(store, [current, second], second) == []
    assert caplog.messages == [
        "Previous statistics: span 1 not passed by a drift check (stopped, or not reached): "
        "no earlier span to compare with"
    ]


# --- windows of several spans (--num-spans): a window's baseline ends before its first span -----------


def test_a_window_is_compared_with_the_latest_passed_window_before_its_first_span(store, caplog):
    """Night after night with --num-spans 2: the window before (spans 2 to 3) overlaps this one (3 to 4)."""
    oldest = _span(store, 1, COMPLETE, first_span=0)
    before = _span(store, 2, COMPLETE, first_span=1)
    overlapping = _span(store, 3, COMPLETE, first_span=2)
    current = _span(store, 4, first_span=3)
    with caplog.at_level(logging.INFO, logger="components.statistics.baseline"):
        assert _resolve(store, [oldest, before, overlapping, current], current) == [before.id]
    assert not caplog.messages
    # One span of this window's own, even passed, is not earlier either.
    alone = _span(store, 3, COMPLETE)
    assert _resolve(store, [before, alone, current], current) == [before.id]


def test_a_window_whose_spans_a_check_stopped_is_named_by_its_spans(store, caplog):
    passed = _span(store, 1, COMPLETE, first_span=0)
    stopped = _span(store, 3, FAILED, first_span=2)
    also_stopped = _span(store, 4, FAILED)
    current = _span(store, 6, first_span=5)
    with caplog.at_level(logging.INFO, logger="components.statistics.baseline"):
        assert _resolve(store, [passed, stopped, also_stopped, current], current) == [passed.id]
    assert caplog.messages == [
        "Previous statistics: spans 2 to 3, span 4 not passed by a drift check (stopped, or not reached): "
        "compared with spans 0 to 1"
    ]


def test_statistics_without_a_first_span_are_of_their_span_alone(store):
    """Statistics of one span, or written before windows were recorded: their first span is their span."""
    one = _span(store, 2, COMPLETE)
    assert statistics_contract.first_span_of(one) == 2
    assert statistics_contract.first_span_of(_span(store, 4, first_span=3)) == 3
    assert _resolve(store, [one, current := _span(store, 4, first_span=3)], current) == [one.id]
    assert _resolve(store, [one, current := _span(store, 3, first_span=2)], current) == []
    # A window compared from one span: a run of one span after windows.
    window = _span(store, 4, COMPLETE, first_span=3)
    assert _resolve(store, [one, window, current := _span(store, 5)], current) == [window.id]
