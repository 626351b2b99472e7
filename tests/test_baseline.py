"""The served model (of the latest push): never the candidate (the baseline) nor trained on excluded examples."""

import itertools
import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.artifacts import model as model_artifact
from components.artifacts import pushed_model as pushed_model_contract
from components.served_model import ServedModelStrategy
from components.trainer import export
from components.trainer import model as keras_model
from tests.conftest import analyze
from tests.metadata_records import in_memory_store, put_artifact, put_execution
from tests.test_warm_start import OLD_TEXTS, OLD_VOCABULARY, TRANSFORM, _ngram_model


@pytest.fixture
def store():
    return in_memory_store()


_ids = itertools.count(1)


_ROOT = []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Model artifacts as the Trainer writes them: wide and deep (with ``embeddings/``), n-grams alone."""
    root = tmp_path_factory.mktemp("trained")
    transform_output = analyze(
        OLD_TEXTS,
        TRANSFORM.model_copy(update={"ngram_max": 2, "ngram_buckets": 64}),
        str(root / "transform"),
    )
    uris = {}
    for use_embeddings in (True, False):
        classifier = _ngram_model(transform_output, use_embeddings, np.zeros(64, np.float32))
        uris[use_embeddings] = str(root / f"embeddings-{use_embeddings}")
        export.export_serving_model(
            classifier, transform_output, model_artifact.serving_model_dir(uris[use_embeddings])
        )
        if use_embeddings:
            rows = keras_model.embedding_weights(classifier)
            model_artifact.write_embedding_artifacts(
                model_artifact.embeddings_dir(uris[use_embeddings]),
                OLD_VOCABULARY,
                trained=rows,
                injected=rows,
            )
    return uris


@pytest.fixture(autouse=True)
def pipeline_root(tmp_path, trained):
    _ROOT[:] = [str(tmp_path / "pipeline_root"), trained[True]]


def _put(store, artifact_class, **custom):
    """An artifact; a Model's folder is a copy of a real one, as the Trainer leaves it."""
    uri = os.path.join(_ROOT[0], artifact_class.TYPE_NAME, str(next(_ids)))
    if artifact_class is standard_artifacts.Model:
        shutil.copytree(_ROOT[1], uri)
    return put_artifact(store, artifact_class, uri, **custom)


def _saved_model(folder):
    os.makedirs(folder)
    with open(os.path.join(folder, "saved_model.pb"), "wb"):
        pass  # what tf.saved_model.contains_saved_model looks for


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
        _saved_model(destination)
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


def _destination(push):
    return push.get_string_custom_property(pushed_model_contract.PUSHED_DESTINATION_PROPERTY)


def test_a_version_copied_or_renamed_by_hand_is_the_model_its_manifest_names(store, serving):
    """TF Serving serves the highest version, whichever push wrote it: a folder no push wrote is known by the
    Model its manifest.json names."""
    first, second = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    pushes = [_push(store, first, 1, serving), _push(store, second, 1, serving)]
    candidate = _put(store, standard_artifacts.Model)
    for push, model in zip(pushes, (first, second), strict=True):
        pushed_model_contract.write_manifest(_destination(push), {"model": {"uri": model.uri}}, push.id)
    models = [first, second, candidate]

    # Roll forward to the first model: its version copied to a new highest number.
    shutil.copytree(_destination(pushes[0]), os.path.join(serving, "900"))
    assert _resolve(store, models, pushes, candidate, serving) == [first.id]
    # The second model's version renamed above it.
    os.rename(_destination(pushes[1]), os.path.join(serving, "901"))
    assert _resolve(store, models, pushes, candidate, serving) == [second.id]
    # A highest version no push wrote and no manifest names (a model made elsewhere), or whose manifest is
    # damaged: not a model of this pipeline, so the next lower version is.
    os.makedirs(os.path.join(serving, "902"))
    with open(os.path.join(serving, "902", "saved_model.pb"), "wb"):
        pass
    assert _resolve(store, models, pushes, candidate, serving) == [second.id]
    with open(os.path.join(serving, "902", "manifest.json"), "w") as file:
        file.write('{"model": {"uri": 3')
    assert _resolve(store, models, pushes, candidate, serving) == [second.id]
    with open(os.path.join(serving, "902", "manifest.json"), "w") as file:
        json.dump({"model": {"uri": "/elsewhere/Model/1"}}, file)
    assert _resolve(store, models, pushes, candidate, serving) == [second.id]
    # The candidate is never its own baseline, by manifest either.
    assert _resolve(store, [first, second], pushes, second, serving) == [first.id]


def test_a_served_model_whose_files_left_the_pipeline_root_gives_way_to_the_next_lower_version(
    store, serving, caplog
):
    """The Evaluator failed every night reading the baseline's files (`SavedModel file does not exist`) once
    the served model's artifact folder was cleaned away."""
    first, second = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    pushes = [_push(store, first, 1, serving), _push(store, second, 1, serving)]
    candidate = _put(store, standard_artifacts.Model)
    shutil.rmtree(second.uri)
    with caplog.at_level("WARNING"):
        assert _resolve(store, [first, second, candidate], pushes, candidate, serving) == [first.id]
    assert caplog.messages == [
        f"The model served from {_destination(pushes[1])} is no longer whole in the pipeline root ({second.uri}: "
        "Format-Serving/saved_model.pb is missing): the next lower version, if any, is taken as the served one"
    ]


def _remove(path):
    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def _empty(path):
    open(path, "w").close()


def _garble(path):
    with open(path, "w") as file:
        file.write("not a checkpoint index")


def _halve(path):
    os.truncate(path, os.path.getsize(path) // 2)


def _drop_last_line(path):
    with open(path) as file:
        lines = file.readlines()
    with open(path, "w") as file:
        file.writelines(lines[:-1])


def _crlf(path):
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data.replace(b"\n", b"\r\n"))


def _tensor_bytes(data_shard: str) -> int:
    """The bytes of a checkpoint's tensors (not its strings), read from the tensors themselves."""
    reader = tf.train.load_checkpoint(data_shard.split(".data-")[0])
    return sum(
        reader.get_tensor(key).nbytes
        for key, dtype in reader.get_variable_to_dtype_map().items()
        if dtype != tf.string
    )


def _cut_below_the_tensors(path):
    os.truncate(path, _tensor_bytes(path) // 2)


def _data_cut_short(model_uri: str) -> str:
    shard = os.path.join(
        model_artifact.serving_model_dir(model_uri), "variables", "variables.data-00000-of-00001"
    )
    tensors = _tensor_bytes(shard)
    return f"variables/variables.data-* are cut short: {tensors // 2:,} bytes, the tensors of its index take {tensors:,}"


@pytest.mark.parametrize(
    ("damage", "name", "fault"),
    [
        (_remove, "variables", "variables/variables.index is missing"),
        (
            _remove,
            "variables/variables.data-00000-of-00001",
            "variables/variables.data-00000-of-00001 is missing",
        ),
        (_empty, "saved_model.pb", "saved_model.pb is empty"),
        (_empty, "variables/variables.index", "variables/variables.index is empty"),
        (_garble, "variables/variables.index", "variables/variables.index cannot be read"),
        (_remove, "embeddings", "embeddings/vocabulary.txt is missing"),
        (_empty, "embeddings/vocabulary.txt", "embeddings/vocabulary.txt is empty"),
        # Cut short or garbled, not emptied: the Evaluator failed naming no file (`IndexError: Read less bytes
        # than requested`), the warm start on a vocabulary shorter than the embedding.
        pytest.param(_cut_below_the_tensors, "variables/variables.data-00000-of-00001", _data_cut_short),
        pytest.param(_halve, "saved_model.pb", "saved_model.pb cannot be read"),
        pytest.param(_garble, "saved_model.pb", "saved_model.pb cannot be read"),
        pytest.param(
            _drop_last_line,
            "embeddings/vocabulary.txt",
            "embeddings/vocabulary.txt holds 5 lines, its embedding 6 rows",
        ),
        pytest.param(
            _crlf,
            "embeddings/vocabulary.txt",
            "embeddings/vocabulary.txt, line 1: ends in a carriage return (CRLF line ends)",
        ),
    ],
)
def test_a_served_model_that_lost_a_file_its_readers_need_gives_way_to_the_next_lower_version(
    store, serving, caplog, damage, name, fault
):
    """A Model artifact that lost some files (not all) was still taken: every nightly run then failed in the
    warm start or the Evaluator."""
    first, second = _put(store, standard_artifacts.Model), _put(store, standard_artifacts.Model)
    pushes = [_push(store, first, 1, serving), _push(store, second, 1, serving)]
    candidate = _put(store, standard_artifacts.Model)
    assert model_artifact.incomplete(second.uri) is None
    fault = fault if isinstance(fault, str) else fault(second.uri)
    damage(os.path.join(model_artifact.serving_model_dir(second.uri), name))
    with caplog.at_level("WARNING"):
        assert _resolve(store, [first, second, candidate], pushes, candidate, serving) == [first.id]
    assert caplog.messages == [
        f"The model served from {_destination(pushes[1])} is no longer whole in the pipeline root ({second.uri}: "
        f"Format-Serving/{fault}): the next lower version, if any, is taken as the served one"
    ]


def _cut_a_few_bytes(path):
    """Cut by fewer bytes than the checkpoint's strings take: the total still exceeds the tensors' bytes."""
    os.truncate(path, os.path.getsize(path) - 8)


def _flip_tensor_bytes(path):
    """Same length, a tensor's bytes changed: its checksum in the index no longer matches."""
    with open(path, "r+b") as file:
        file.seek(os.path.getsize(path) - 8)
        tail = file.read(8)
        file.seek(-8, os.SEEK_END)
        file.write(bytes(255 - byte for byte in tail))


def _remove_assets(path):
    shutil.rmtree(path)


def _keep_the_schema_version_only(path):
    with open(path, "rb") as file:
        data = file.read(2)
    with open(path, "wb") as file:
        file.write(data)


@pytest.mark.parametrize(
    ("damage", "name"),
    [
        (_cut_a_few_bytes, "variables/variables.data-00000-of-00001"),
        (_flip_tensor_bytes, "variables/variables.data-00000-of-00001"),
        (_remove_assets, "assets"),
        (_keep_the_schema_version_only, "saved_model.pb"),
    ],
)
def test_a_model_tensorflow_cannot_load_is_never_whole(trained, tmp_path, damage, name):
    uri = str(tmp_path / "model")
    shutil.copytree(trained[True], uri)
    damage(os.path.join(model_artifact.serving_model_dir(uri), name))
    with pytest.raises((tf.errors.OpError, OSError, IndexError, ValueError)):
        tf.saved_model.load(model_artifact.serving_model_dir(uri))  # what the Evaluator meets
    assert model_artifact.incomplete(uri) is not None


def test_a_model_of_the_n_gram_branch_alone_needs_no_embedding_files(trained):
    """The warm start reads the vocabulary only of a model with an embedding, which the checkpoint tells."""
    assert model_artifact.incomplete(trained[False]) is None
    assert not os.path.exists(model_artifact.embeddings_dir(trained[False]))
    assert model_artifact.incomplete(trained[True]) is None


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
