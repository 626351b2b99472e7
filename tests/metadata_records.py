"""Artifacts and executions written into ML Metadata's in-memory store, as TFX records a run's."""

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx.types import artifact_utils


def in_memory_store() -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.fake_database.SetInParent()
    return metadata_store.MetadataStore(config)


def put_artifact(store, artifact_class, uri: str = "", **custom):
    """A registered ``artifact_class`` artifact with integer custom properties ``custom``."""
    artifact = artifact_class()
    artifact.uri = uri or f"/pipeline_root/{artifact_class.TYPE_NAME}"
    for name, value in custom.items():
        artifact.set_int_custom_property(name, value)
    artifact.type_id = store.put_artifact_type(artifact.artifact_type)
    artifact.mlmd_artifact.type_id = artifact.type_id
    [artifact.id] = store.put_artifacts([artifact.mlmd_artifact])
    return artifact_utils.deserialize_artifact(
        artifact.artifact_type, store.get_artifacts_by_id([artifact.id])[0]
    )


def put_execution(store, inputs: dict, outputs: dict, state=metadata_store_pb2.Execution.COMPLETE) -> None:
    """An execution in ``state`` that read ``inputs`` and wrote ``outputs`` (key -> artifact)."""
    execution_type = metadata_store_pb2.ExecutionType(name="Step")
    execution = metadata_store_pb2.Execution(
        type_id=store.put_execution_type(execution_type), last_known_state=state
    )
    [execution_id] = store.put_executions([execution])
    events = []
    for kind, artifacts in (
        (metadata_store_pb2.Event.INPUT, inputs),
        (metadata_store_pb2.Event.OUTPUT, outputs),
    ):
        for key, artifact in artifacts.items():
            event = metadata_store_pb2.Event(artifact_id=artifact.id, execution_id=execution_id, type=kind)
            event.path.steps.add().key = key
            events.append(event)
    store.put_events(events)
