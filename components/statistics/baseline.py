"""Which statistics this span's are compared with: those of the latest earlier span the drift check passed.

Found in ML Metadata: every ExampleStatistics artifact carries its examples'
``span`` and, read from a window of several spans, its ``first_span``. The
baseline is the latest (highest span, then newest) whose span (a window's last)
is below this run's (a window's first: the spans it reads are never its own
baseline) and that a DriftCheck passed: read as its ``statistics`` and
published its anomalies (it completed, or was cached). A span the check
stopped was never trained on, so it is never a baseline: drift that persists
keeps stopping runs until a run with the check's action ``warn`` accepts it.
On the first span there is none, and a re-run of the same span compares with
the same earlier span again (so it is cached), unless an earlier span passed
meanwhile (a stopped span accepted later): the re-run compares with that one.
Statistics that passed once stay passed (the model trained on them was served).
"""

import logging
from typing import Any

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_artifact_strategy
from tfx.types import standard_artifacts

from components.artifacts import lineage
from components.artifacts.drift_anomalies import ANOMALIES_KEY
from components.artifacts.statistics import STATISTICS_KEY, first_span_of, span_of, spans_name

logger = logging.getLogger(__name__)

CURRENT_KEY = "current"
RESOLVER_ID = "previous_statistics_resolver"


def passed(store: Any, candidates: list[types.Artifact]) -> set[int]:
    """Ids of the ``candidates`` a drift check passed: read as ``statistics`` by an execution that completed
    (or was cached) and published its ``anomalies`` (a stopped check fails and publishes nothing)."""
    reads = lineage.reads(store, STATISTICS_KEY, artifact_ids=(a.id for a in candidates))
    checks = {
        execution
        for execution, _ in lineage.writes(
            store, ANOMALIES_KEY, execution_ids=lineage.finished(store, (e for e, _ in reads))
        )
    }
    return {artifact for execution, artifact in reads if execution in checks}


def latest_earlier_span(
    candidates: list[types.Artifact], current: list[types.Artifact], accepted: set[int]
) -> types.Artifact | None:
    """The ``accepted`` statistics with the highest (last) span below every current span, a window's first
    (newest among equals); None if none. Logs earlier spans left out because no drift check passed them."""
    spans = [span for span in map(first_span_of, current) if span is not None]
    if not spans:
        return None
    limit = min(spans)
    earlier = [
        artifact for artifact in candidates if (span_of(artifact) is not None and span_of(artifact) < limit)
    ]
    found = max(
        (artifact for artifact in earlier if artifact.id in accepted),
        key=lambda artifact: (span_of(artifact), artifact.id),
        default=None,
    )
    skipped = sorted(
        {
            (span_of(a), first_span_of(a))
            for a in earlier
            if a.id not in accepted and (not found or span_of(a) > span_of(found))
        }
    )
    if skipped:
        logger.info(
            "Previous statistics: %s not passed by a drift check (stopped, or not reached): %s",
            ", ".join(spans_name(first, last) for last, first in skipped),
            f"compared with {spans_name(first_span_of(found), span_of(found))}"
            if found
            else "no earlier span to compare with",
        )
    return found


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """Resolves the latest ExampleStatistics of a span before this run's that a drift check passed.

    Inputs: ``statistics`` (all ExampleStatistics artifacts) and ``current``
    (this run's StatisticsGen output). Outputs ``statistics``: one artifact,
    or none on the first span.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        candidates = input_dict.get(STATISTICS_KEY, [])
        found = latest_earlier_span(candidates, input_dict.get(CURRENT_KEY, []), passed(store, candidates))
        return {STATISTICS_KEY: [found] if found else [], CURRENT_KEY: input_dict.get(CURRENT_KEY, [])}


def create_previous_statistics_resolver(
    current: types.BaseChannel, portable: bool = False
) -> resolver.Resolver:
    """The Resolver node whose ``statistics`` output is the DriftCheck's baseline.

    Args:
        current: This run's StatisticsGen output.
        portable: Use TFX's ``LatestArtifactStrategy`` (the only strategy
            besides the latest blessed model that TFX's Kubeflow V2 compiler
            knows): the latest statistics in ML Metadata when the run starts,
            before this run's StatisticsGen. That is the previous span's after
            a new span arrives; on a re-run of the same span it is that span's
            own, and with a window the previous window's, which overlaps this
            one: the DriftCheck then compares with neither (not earlier spans).
    """
    return resolver.Resolver(
        strategy_class=latest_artifact_strategy.LatestArtifactStrategy
        if portable
        else PreviousSpanStatisticsStrategy,
        statistics=types.Channel(type=standard_artifacts.ExampleStatistics),
        **({} if portable else {CURRENT_KEY: current}),
    ).with_id(RESOLVER_ID)
