"""Which statistics this span's are compared with: the latest statistics of an earlier span.

Found in ML Metadata: every ExampleStatistics artifact carries its examples'
``span``. The latest (highest span, then newest) whose span is below this
run's is the baseline; on the first span there is none, and a re-run of the
same span compares with the same earlier span again (so it is cached).
"""

from typing import Any

from tfx import types
from tfx.dsl.components.common import resolver
from tfx.dsl.input_resolution.strategies import latest_artifact_strategy
from tfx.types import standard_artifacts

from components.artifacts.statistics import span_of

STATISTICS_KEY = "statistics"
CURRENT_KEY = "current"
RESOLVER_ID = "previous_statistics_resolver"


def latest_earlier_span(
    candidates: list[types.Artifact], current: list[types.Artifact]
) -> types.Artifact | None:
    """The statistics with the highest span below every current span (newest among equals); None if none."""
    spans = [span for span in map(span_of, current) if span is not None]
    if not spans:
        return None
    limit = min(spans)
    earlier = [
        artifact for artifact in candidates if (span_of(artifact) is not None and span_of(artifact) < limit)
    ]
    return max(earlier, key=lambda artifact: (span_of(artifact), artifact.id), default=None)


class PreviousSpanStatisticsStrategy(resolver.ResolverStrategy):
    """Resolves the latest ExampleStatistics of a span before this run's.

    Inputs: ``statistics`` (all ExampleStatistics artifacts) and ``current``
    (this run's StatisticsGen output). Outputs ``statistics``: one artifact,
    or none on the first span.
    """

    def resolve_artifacts(
        self, store: Any, input_dict: dict[str, list[types.Artifact]]
    ) -> dict[str, list[types.Artifact]] | None:
        found = latest_earlier_span(input_dict.get(STATISTICS_KEY, []), input_dict.get(CURRENT_KEY, []))
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
            own, which the DriftCheck then does not count as an earlier span.
    """
    if portable:
        return resolver.Resolver(
            strategy_class=latest_artifact_strategy.LatestArtifactStrategy,
            statistics=types.Channel(type=standard_artifacts.ExampleStatistics),
        ).with_id(RESOLVER_ID)
    return resolver.Resolver(
        strategy_class=PreviousSpanStatisticsStrategy,
        statistics=types.Channel(type=standard_artifacts.ExampleStatistics),
        current=current,
    ).with_id(RESOLVER_ID)
