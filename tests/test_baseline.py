"""The served model (of the latest push): never the candidate (the baseline) nor trained on excluded examples."""

import os
import shutil

import pytest
from tfx.types import standard_artifacts

from components.artifacts import pushed_model as pushed_model_contract
from components.served_model import ServedModelStrategy
from tests.metadata_records import in_memory_store, put_artifact, put_execution


@pytest.fixture
def store():
    return in_memory_store()


def _put(store, artifact_class, **custom):
    return put_artifact(store, artifact_class, f"/models/{artifact_class.TYPE_NAME}", **custom)


@pytest.fixture
def serving(tmp_path):
    """The serving model folder the pushes go to."""
    return str(tmp_path / "serving" / "imdb_sentiment")


def _push(store, model, pushed: int, serving_model_dir: str):
    """A Pusher execution reading ``model`` and writing a PushedModel (``pushed`` = 0 or 1); a push writes
    a version folder into ``serving_model_dir``."""
    pushed_model = _put(store, standard_artifacts.PushedModel, pushed=pushed)
    if pushed:
        destination = os.path.join(serving_model_dir, str(pushed_model.id))
        os.makedirs(destination)
        with open(os.path.join(destination, "saved_model.pb"), "wb"):
            pass  # what tf.saved_model.contains_saved_model looks for
        pushed_model.set_string_custom_property(
            pushed_model_contract.PUSHED_DESTINATION_PROPERTY, destination
        )
        store.put_artifacts([pushed_model.mlmd_artifact])
    put_execution(store, {"model": model}, {"pushed_model": pushed_model})
    return pushed_model


def _resolve(store, models, pushes, candidate, serving):
    result = ServedModelStrategy("candidate", serving).resolve_artifacts(
        store, {"model": models, "pushed_model": pushes, "candidate": [candidate]}
    )
    return [model.id for model in result["model"]]


def test_a_push_of_another_model_name_is_not_the_baseline(store, serving, tmp_path):
    """Two model folders fed by one pipeline: each is compared with its own served model only."""
    mine, other, candidate = (_put(store, standard_artifacts.Model) for _ in range(3))
    pushes = [
        _push(store, mine, 1, serving),
        _push(store, other, 1, str(tmp_path / "serving" / "other_model")),
    ]

    assert _resolve(store, [mine, other, candidate], pushes, candidate, serving) == [mine.id]
    assert _resolve(store, [other, candidate], pushes[1:], candidate, serving) == []


def test_after_a_roll_back_the_baseline_is_the_version_still_served(store, serving):
    """Removing the newest version folders (what TF Serving then serves is the highest one left)."""
    first, second, third = (_put(store, standard_artifacts.Model) for _ in range(3))
    pushes = [
        _push(store, first, 1, serving),
        _push(store, second, 1, serving),
        _push(store, third, 1, serving),
    ]
    candidate = _put(store, standard_artifacts.Model)
    assert _resolve(store, [first, second, third, candidate], pushes, candidate, serving) == [third.id]

    shutil.rmtree(pushes[2].get_string_custom_property(pushed_model_contract.PUSHED_DESTINATION_PROPERTY))
    assert _resolve(store, [first, second, third, candidate], pushes, candidate, serving) == [second.id]
    # A file, or a folder without a SavedModel, where a version was: TF Serving skips it, and so does the baseline.
    second_version = pushes[1].get_string_custom_property(pushed_model_contract.PUSHED_DESTINATION_PROPERTY)
    os.remove(os.path.join(second_version, "saved_model.pb"))
    assert _resolve(store, [first, second, third, candidate], pushes, candidate, serving) == [first.id]
    shutil.rmtree(second_version)
    with open(second_version, "w") as file:
        file.write("not a model")
    assert _resolve(store, [first, second, third, candidate], pushes, candidate, serving) == [first.id]
    shutil.rmtree(pushes[0].get_string_custom_property(pushed_model_contract.PUSHED_DESTINATION_PROPERTY))
    assert _resolve(store, [first, second, third, candidate], pushes, candidate, serving) == []


def test_a_blessed_model_the_canary_refused_is_not_the_baseline(store, serving):
    served, refused, candidate = (_put(store, standard_artifacts.Model) for _ in range(3))
    pushes = [_push(store, served, 1, serving), _push(store, refused, 0, serving)]

    assert _resolve(store, [served, refused, candidate], pushes, candidate, serving) == [served.id]


def test_the_latest_push_is_the_baseline_and_the_candidate_never_is(store, serving):
    first, second = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    # first pushed, second pushed, then first pushed again (a new, highest version): first is served.
    pushes = [
        _push(store, first, 1, serving),
        _push(store, second, 1, serving),
        _push(store, first, 1, serving),
    ]
    new = _put(store, standard_artifacts.Model)

    assert _resolve(store, [first, second, new], pushes, new, serving) == [first.id]
    # A re-run whose candidate is the served model compares it with the one pushed before.
    assert _resolve(store, [first, second], pushes, first, serving) == [second.id]


def test_no_push_no_baseline(store, serving):
    model, candidate = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)

    assert _resolve(store, [model, candidate], [_push(store, model, 0, serving)], candidate, serving) == []
    assert _resolve(store, [model, candidate], [], candidate, serving) == []


def test_a_model_trained_on_the_excluded_examples_is_not_resolved_and_the_examples_pass_through(
    store, serving
):
    examples = _put(store, standard_artifacts.Examples)
    earlier, retrained = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    put_execution(store, {"examples": examples}, {"model": retrained})
    pushes = [_push(store, earlier, 1, serving), _push(store, retrained, 1, serving)]

    result = ServedModelStrategy("examples", serving).resolve_artifacts(
        store, {"model": [earlier, retrained], "pushed_model": pushes, "examples": [examples]}
    )

    assert [model.id for model in result["model"]] == [earlier.id]
    assert [artifact.id for artifact in result["examples"]] == [examples.id]
    assert result["pushed_model"] == []
