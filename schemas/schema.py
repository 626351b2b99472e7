"""Loading the curated raw schema."""

from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

RAW_SCHEMA_PATH = Path(__file__).with_name("raw_schema.pbtxt")


def load_raw_schema(path: Path | str = RAW_SCHEMA_PATH) -> schema_pb2.Schema:
    """Parses a text-format tensorflow_metadata Schema file."""
    return text_format.Parse(Path(path).read_text(encoding="utf-8"), schema_pb2.Schema())


def schema_for_environment(schema: schema_pb2.Schema, environment: str) -> schema_pb2.Schema:
    """Returns a copy of ``schema`` without the features absent from ``environment``.

    Follows TFDV's rules: a feature with ``in_environment`` entries exists only in
    those environments, one with ``not_in_environment`` entries exists everywhere
    else.
    """
    result = schema_pb2.Schema()
    result.CopyFrom(schema)
    del result.feature[:]
    for feature in schema.feature:
        if feature.in_environment and environment not in feature.in_environment:
            continue
        if environment in feature.not_in_environment:
            continue
        result.feature.add().CopyFrom(feature)
    return result
