"""An artifact as its readers see it: a URI and custom properties as plain values.

The run report, the step log and the run summary read artifacts handed to an
executor and artifacts found in ML Metadata alike, through this one shape.
"""

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class ArtifactRef:
    """An input artifact: where it is and its custom properties as plain values."""

    uri: str
    properties: dict[str, Any] = dataclasses.field(default_factory=dict)


def artifact_ref(mlmd_artifact: Any) -> ArtifactRef:
    """An :class:`ArtifactRef` from an ML Metadata ``Artifact`` proto."""
    properties = {}
    for name, value in mlmd_artifact.custom_properties.items():
        kind = value.WhichOneof("value")
        properties[name] = (
            getattr(value, kind) if kind in ("int_value", "double_value", "string_value") else None
        )
    return ArtifactRef(mlmd_artifact.uri, properties)
