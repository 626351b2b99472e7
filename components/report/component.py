"""Report component: the last step, a self-contained ``report.html`` of the run.

A step of its own (rather than a script after the run) so the report is an
artifact like any other: recorded in ML Metadata with the artifacts it was
built from, and cached when none of them changed. Every input is optional, so
the same component serves pipelines without a Pusher or with imported vectors.
"""

from collections.abc import Sequence
import json
from typing import Any

from tfx import types
from tfx.dsl.components.base import base_node, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import run_report as names
from components.artifacts.types import EmbeddingMatrix, RunReport
from components.component_spec import Component
from components.report import executor

# The artifacts shown, each optional, in the order the report lists them.
_INPUT_TYPES = {
    names.EXAMPLES: standard_artifacts.Examples,
    names.STATISTICS: standard_artifacts.ExampleStatistics,
    names.DRIFT: standard_artifacts.ExampleAnomalies,
    names.TRANSFORM_GRAPH: standard_artifacts.TransformGraph,
    names.EMBEDDING: EmbeddingMatrix,
    names.MODEL: standard_artifacts.Model,
    names.MODEL_RUN: standard_artifacts.ModelRun,
    names.EVALUATION: standard_artifacts.ModelEvaluation,
    names.BLESSING: standard_artifacts.ModelBlessing,
    names.INFRA_BLESSING: standard_artifacts.InfraBlessing,
    names.PUSHED_MODEL: standard_artifacts.PushedModel,
}


class ReportSpec(types.ComponentSpec):
    PARAMETERS = {
        executor.PIPELINE_NAME_KEY: ExecutionParameter(type=str),
        executor.STEP_PROPERTIES_KEY: ExecutionParameter(type=str),
    }
    INPUTS = {key: ChannelParameter(type=type_, optional=True) for key, type_ in _INPUT_TYPES.items()}
    OUTPUTS = {names.REPORT_KEY: ChannelParameter(type=RunReport)}


def _display(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def describe_steps(steps: Sequence[base_node.BaseNode]) -> dict[str, dict[str, str]]:
    """Step id -> execution property -> value as text, for the report's configuration table.

    The same texts ML Metadata records for an execution's properties (protos
    are JSON already); unset properties are left out.
    """
    return {
        step.id: {
            name: _display(value) for name, value in sorted(step.exec_properties.items()) if value is not None
        }
        for step in steps
    }


class Report(Component):
    """Renders ``report.html`` from the run's artifacts; copies it into a pushed version's ``report/``.

    The title names ``pipeline_name``; the execution properties of ``steps`` are the run's configuration;
    ``inputs`` are the artifacts shown, by input name (``run_report.INPUT_KEYS``), any may be omitted.
    """

    SPEC_CLASS = ReportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self, pipeline_name: str, steps: Sequence[base_node.BaseNode], **inputs: types.BaseChannel | None
    ):
        super().__init__(
            pipeline_name=pipeline_name, step_properties=json.dumps(describe_steps(steps)), **inputs
        )
