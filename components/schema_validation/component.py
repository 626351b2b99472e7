"""SchemaImporter and ExampleValidator: TFX's (TFDV-based, not installable) ones, same artifacts."""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.component_spec import with_outputs
from components.schema_validation import executor


class SchemaImporterSpec(ComponentSpec):
    """The schema's text as a parameter (so editing the schema changes the cache key) -> Schema."""

    PARAMETERS = {executor.SCHEMA_TEXT_KEY: ExecutionParameter(type=str)}
    INPUTS = {}
    OUTPUTS = {executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema)}


class SchemaImporter(base_component.BaseComponent):
    """The curated schema as a Schema artifact; its text, not a path, is the (cache-key) parameter."""

    SPEC_CLASS = SchemaImporterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SchemaImporterExecutor)

    def __init__(self, schema_text: str):
        super().__init__(spec=with_outputs(SchemaImporterSpec, schema_text=schema_text))


class ExampleValidatorSpec(ComponentSpec):
    """Examples + Schema -> ExampleAnomalies (``anomalies.json``)."""

    PARAMETERS = {}
    INPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class ExampleValidator(base_beam_component.BaseBeamComponent):
    """Checks every split against its environment's schema; fails the run if any example is invalid."""

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.ExampleValidatorExecutor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel):
        super().__init__(spec=with_outputs(ExampleValidatorSpec, examples=examples, schema=schema))
