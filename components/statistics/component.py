"""StatisticsGen and DriftCheck: our stand-ins for TFX's TFDV-based StatisticsGen and drift comparator.

TFX's StatisticsGen and ExampleValidator import TensorFlow Data Validation,
which cannot be installed with TFX 1.21, so these are components of our own
with the same artifacts (ExampleStatistics in StatisticsGen's layout,
ExampleAnomalies with drift and skew measurements), computing the figures this
text pipeline needs: lengths and vocabulary coverage in the Transform's tokens.
"""

from __future__ import annotations

from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.component_spec import BeamComponent, Component
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


class StatisticsGen(BeamComponent):
    """Per-split statistics of the examples, in one Beam pipeline (stats.ComputeStatistics).

    Writes ``Split-<name>/FeatureStats.pb`` (DatasetFeatureStatisticsList) and
    the token counts per split, ``summary.json`` and the vocabulary measured
    against; see components/artifacts/statistics.py.
    """

    SPEC_CLASS = StatisticsGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.StatisticsGenExecutor)


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


class DriftCheck(Component):
    """Compares the statistics with the previous span's and train with test; stops the run or warns.

    Writes the comparisons as an ExampleAnomalies artifact (components/artifacts/
    drift_anomalies.py), then fails with :class:`drift.DriftError` when a
    comparison whose action is ``stop`` is over its threshold.
    """

    SPEC_CLASS = DriftCheckSpec
    OPTIONS = DriftOptions
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.DriftCheckExecutor)
