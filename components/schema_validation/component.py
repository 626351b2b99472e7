"""SchemaImporter and ExampleValidator: TFX's (TFDV-based, not installable) ones, same artifacts."""

from __future__ import annotations

from tfx.dsl.components.base import executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.component_spec import BeamComponent, Component
from components.schema_validation import executor


class SchemaImporterSpec(ComponentSpec):
    """The schema's text as a parameter (so editing the schema changes the cache key) -> Schema."""

    PARAMETERS = {executor.SCHEMA_TEXT_KEY: ExecutionParameter(type=str)}
    INPUTS = {}
    OUTPUTS = {executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema)}


class SchemaImporter(Component):
    """The curated schema as a Schema artifact; its text, not a path, is the (cache-key) parameter."""

    SPEC_CLASS = SchemaImporterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SchemaImporterExecutor)


class ExampleValidatorSpec(ComponentSpec):
    """Examples + Schema -> ExampleAnomalies (``anomalies.json``)."""

    PARAMETERS = {}
    INPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class ExampleValidator(BeamComponent):
    """Checks every split against its environment's schema; fails the run if any example is invalid."""

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.ExampleValidatorExecutor)
