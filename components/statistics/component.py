"""StatisticsGen and DriftCheck: our stand-ins for TFX's TFDV-based StatisticsGen and drift comparator.

TFX's StatisticsGen and ExampleValidator import TensorFlow Data Validation,
which cannot be installed with TFX 1.21, so these are components of our own
with the same artifacts (ExampleStatistics in StatisticsGen's layout,
ExampleAnomalies with drift and skew measurements), computing the figures this
text pipeline needs: lengths and vocabulary coverage in the Transform's tokens.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.component_spec import with_outputs
from components.options import OPTIONS_KEY
from components.statistics import executor
from components.statistics.options import DriftOptions


class StatisticsGenSpec(ComponentSpec):
    """Examples + TransformGraph (its token vocabulary) -> ExampleStatistics."""

    PARAMETERS = {}
    INPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.TRANSFORM_GRAPH_KEY: ChannelParameter(type=standard_artifacts.TransformGraph),
    }
    OUTPUTS = {executor.STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics)}


class StatisticsGen(base_beam_component.BaseBeamComponent):
    """Per-split statistics of the examples, in one Beam pipeline (stats.ComputeStatistics).

    Writes ``Split-<name>/FeatureStats.pb`` (DatasetFeatureStatisticsList) and
    the token counts per split, ``summary.json`` and the vocabulary measured
    against; see components/artifacts/statistics.py.
    """

    SPEC_CLASS = StatisticsGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.StatisticsGenExecutor)

    def __init__(self, examples: types.BaseChannel, transform_graph: types.BaseChannel):
        super().__init__(
            spec=with_outputs(StatisticsGenSpec, examples=examples, transform_graph=transform_graph)
        )


class DriftCheckSpec(ComponentSpec):
    """ExampleStatistics (+ the previous span's) -> ExampleAnomalies."""

    PARAMETERS = {OPTIONS_KEY: ExecutionParameter(type=str)}
    INPUTS = {
        executor.STATISTICS_KEY: ChannelParameter(type=standard_artifacts.ExampleStatistics),
        executor.BASELINE_STATISTICS_KEY: ChannelParameter(
            type=standard_artifacts.ExampleStatistics, optional=True
        ),
    }
    OUTPUTS = {executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class DriftCheck(base_component.BaseComponent):
    """Compares the statistics with the previous span's and train with test; stops the run or warns.

    Writes the comparisons as an ExampleAnomalies artifact (components/artifacts/
    drift_anomalies.py), then fails with :class:`drift.DriftError` when a
    comparison whose action is ``stop`` is over its threshold.
    """

    SPEC_CLASS = DriftCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.DriftCheckExecutor)

    def __init__(
        self,
        statistics: types.BaseChannel,
        options: DriftOptions,
        baseline_statistics: types.BaseChannel | None = None,
    ):
        super().__init__(
            spec=with_outputs(
                DriftCheckSpec,
                statistics=statistics,
                baseline_statistics=baseline_statistics,
                options=options.to_json(),
            )
        )
