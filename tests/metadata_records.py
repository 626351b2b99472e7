"""Artifacts and executions written into ML Metadata's in-memory store, as TFX records a run's."""

from pathlib import Path

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


def sqlite_store_with_runs(output: Path, *pipelines: str) -> list[str]:
    """``output``'s SQLite store holding one run (a completed Trainer) of each of ``pipelines``; the run ids."""
    pb = metadata_store_pb2
    output.mkdir()
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(output / "metadata.sqlite")
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    run_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
    node_type = store.put_context_type(pb.ContextType(name="node"))
    execution_type = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    run_ids = []
    for day, pipeline_name in enumerate(pipelines, start=1):
        run_id = f"2026-01-0{day}T00:00:00"
        run_context, node_context = store.put_contexts(
            [
                pb.Context(type_id=run_type, name=run_id),
                pb.Context(type_id=node_type, name=f"{pipeline_name}.Trainer"),
            ]
        )
        [execution] = store.put_executions(
            [pb.Execution(type_id=execution_type, last_known_state=pb.Execution.COMPLETE)]
        )
        store.put_attributions_and_associations(
            [],
            [
                pb.Association(context_id=run_context, execution_id=execution),
                pb.Association(context_id=node_context, execution_id=execution),
            ],
        )
        run_ids.append(run_id)
    return run_ids
