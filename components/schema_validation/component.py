"""SchemaImporter and ExampleValidator: our stand-ins for TFX's TFDV-based components.

TFX's ImportSchemaGen and ExampleValidator import TensorFlow Data Validation,
which cannot be installed with TFX 1.21, so these are small components of our
own with the same artifacts (Schema, ExampleAnomalies), so that downstream
steps wire to them as they would to the standard ones.
"""

from __future__ import annotations

from tfx import types
from tfx.dsl.components.base import base_beam_component, base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.schema_validation import executor


class SchemaImporterSpec(ComponentSpec):
    """The schema's text as a parameter (so editing the schema changes the cache key) -> Schema."""

    PARAMETERS = {executor.SCHEMA_TEXT_KEY: ExecutionParameter(type=str)}
    INPUTS = {}
    OUTPUTS = {executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema)}


class SchemaImporter(base_component.BaseComponent):
    """Brings the curated schema into the pipeline as a Schema artifact (``<uri>/schema.pbtxt``).

    The text itself, not a path, is the parameter: TFX caches on parameters, so
    a path would keep serving the old schema after the file changed. The
    pipeline passes ``schemas.schema.RAW_SCHEMA_PATH.read_text()``.
    """

    SPEC_CLASS = SchemaImporterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SchemaImporterExecutor)

    def __init__(self, schema_text: str):
        super().__init__(
            spec=SchemaImporterSpec(
                schema_text=schema_text,
                schema=types.Channel(type=standard_artifacts.Schema),
            )
        )


class ExampleValidatorSpec(ComponentSpec):
    """Examples + Schema -> ExampleAnomalies (``anomalies.json``)."""

    PARAMETERS = {}
    INPUTS = {
        executor.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples),
        executor.SCHEMA_KEY: ChannelParameter(type=standard_artifacts.Schema),
    }
    OUTPUTS = {executor.ANOMALIES_KEY: ChannelParameter(type=standard_artifacts.ExampleAnomalies)}


class ExampleValidator(base_beam_component.BaseBeamComponent):
    """Checks every split of the examples against the schema of its environment.

    Writes ``anomalies.json`` (per split: examples checked and, per feature and
    problem, a count and up to five example sources), then fails the run with
    :class:`executor.SchemaViolationError` if any example is invalid, so nothing
    trains on bad data.
    """

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.ExampleValidatorExecutor)

    def __init__(self, examples: types.BaseChannel, schema: types.BaseChannel):
        super().__init__(
            spec=ExampleValidatorSpec(
                examples=examples,
                schema=schema,
                anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies),
            )
        )
