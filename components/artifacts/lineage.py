"""Lineage in ML Metadata: which executions read or wrote which artifacts, under which input or output key."""

from collections.abc import Iterable
from typing import Any


def reads(
    store: Any, key: str, artifact_ids: Iterable[int] = (), execution_ids: Iterable[int] = ()
) -> list[tuple[int, int]]:
    """(execution id, artifact id) of each artifact an execution read as its input ``key``, among the
    events of ``artifact_ids`` and of ``execution_ids``."""
    from ml_metadata.proto import metadata_store_pb2

    return _links(store, metadata_store_pb2.Event.INPUT, key, artifact_ids, execution_ids)


def writes(
    store: Any, key: str, artifact_ids: Iterable[int] = (), execution_ids: Iterable[int] = ()
) -> list[tuple[int, int]]:
    """(execution id, artifact id) of each artifact an execution wrote as its output ``key``, among the
    events of ``artifact_ids`` and of ``execution_ids``."""
    from ml_metadata.proto import metadata_store_pb2

    return _links(store, metadata_store_pb2.Event.OUTPUT, key, artifact_ids, execution_ids)


def _links(
    store: Any, event_type: int, key: str, artifact_ids: Iterable[int], execution_ids: Iterable[int]
) -> list[tuple[int, int]]:
    artifact_ids, execution_ids = sorted(set(artifact_ids)), sorted(set(execution_ids))
    events = [
        *(store.get_events_by_artifact_ids(artifact_ids) if artifact_ids else []),
        *(store.get_events_by_execution_ids(execution_ids) if execution_ids else []),
    ]
    return [
        (event.execution_id, event.artifact_id)
        for event in events
        if event.type == event_type and event.path.steps and event.path.steps[0].key == key
    ]


def finished(store: Any, execution_ids: Iterable[int]) -> set[int]:
    """The ``execution_ids`` whose execution completed or was cached (not failed, canceled or running)."""
    from ml_metadata.proto import metadata_store_pb2

    done = (metadata_store_pb2.Execution.COMPLETE, metadata_store_pb2.Execution.CACHED)
    ids = sorted(set(execution_ids))
    return {e.id for e in (store.get_executions_by_id(ids) if ids else []) if e.last_known_state in done}
