"""The served model (of the latest push): never the candidate (the baseline) nor trained on excluded examples."""

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2
import pytest
from tfx.types import artifact_utils, standard_artifacts

from components.served_model import ServedModelStrategy


@pytest.fixture
def store():
    config = metadata_store_pb2.ConnectionConfig()
    config.fake_database.SetInParent()
    return metadata_store.MetadataStore(config)


def _put(store, artifact_class, **custom):
    artifact = artifact_class()
    artifact.uri = f"/models/{artifact_class.TYPE_NAME}"
    for name, value in custom.items():
        artifact.set_int_custom_property(name, value)
    artifact.type_id = store.put_artifact_type(artifact.artifact_type)
    artifact.mlmd_artifact.type_id = artifact.type_id
    [artifact.id] = store.put_artifacts([artifact.mlmd_artifact])
    return artifact_utils.deserialize_artifact(
        artifact.artifact_type, store.get_artifacts_by_id([artifact.id])[0]
    )


def _execution(store, inputs: dict, outputs: dict) -> None:
    """An execution reading ``inputs`` and writing ``outputs`` (key -> artifact), as ML Metadata records it."""
    execution_type = metadata_store_pb2.ExecutionType(name="Step")
    execution = metadata_store_pb2.Execution(type_id=store.put_execution_type(execution_type))
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


def _push(store, model, pushed: int):
    """A Pusher execution reading ``model`` and writing a PushedModel (``pushed`` = 0 or 1)."""
    pushed_model = _put(store, standard_artifacts.PushedModel, pushed=pushed)
    _execution(store, {"model": model}, {"pushed_model": pushed_model})
    return pushed_model


def _resolve(store, models, pushes, candidate):
    result = ServedModelStrategy("candidate").resolve_artifacts(
        store, {"model": models, "pushed_model": pushes, "candidate": [candidate]}
    )
    return [model.id for model in result["model"]]


def test_a_blessed_model_the_canary_refused_is_not_the_baseline(store):
    served, refused, candidate = (_put(store, standard_artifacts.Model) for _ in range(3))
    pushes = [_push(store, served, pushed=1), _push(store, refused, pushed=0)]

    assert _resolve(store, [served, refused, candidate], pushes, candidate) == [served.id]


def test_the_latest_push_is_the_baseline_and_the_candidate_never_is(store):
    first, second = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    # first pushed, second pushed, then first pushed again (a new, highest version): first is served.
    pushes = [_push(store, first, 1), _push(store, second, 1), _push(store, first, 1)]
    new = _put(store, standard_artifacts.Model)

    assert _resolve(store, [first, second, new], pushes, new) == [first.id]
    # A re-run whose candidate is the served model compares it with the one pushed before.
    assert _resolve(store, [first, second], pushes, first) == [second.id]


def test_no_push_no_baseline(store):
    model, candidate = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)

    assert _resolve(store, [model, candidate], [_push(store, model, pushed=0)], candidate) == []
    assert _resolve(store, [model, candidate], [], candidate) == []


def test_a_model_trained_on_the_excluded_examples_is_not_resolved_and_the_examples_pass_through(store):
    examples = _put(store, standard_artifacts.Examples)
    earlier, retrained = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    _execution(store, {"examples": examples}, {"model": retrained})
    pushes = [_push(store, earlier, 1), _push(store, retrained, 1)]

    result = ServedModelStrategy("examples").resolve_artifacts(
        store, {"model": [earlier, retrained], "pushed_model": pushes, "examples": [examples]}
    )

    assert [model.id for model in result["model"]] == [earlier.id]
    assert [artifact.id for artifact in result["examples"]] == [examples.id]
    assert result["pushed_model"] == []
