"""The Trainer's Model (SavedModel, ``embeddings/``) and ModelRun (``history.json``, ``warm_start.json``)."""

from collections.abc import Sequence
import io
import os
import re

from google.protobuf.message import DecodeError
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from components.artifacts.files import DamagedFileError, read_json, read_lines, write_json
from schemas import features

EMBEDDINGS_DIR = "embeddings"
VOCABULARY_FILE = "vocabulary.txt"
TRAINED_MATRIX_FILE = "embeddings.npy"
INJECTED_MATRIX_FILE = "embeddings_injected.npy"
PROJECTOR_VECTORS_FILE = "vectors.tsv"
PROJECTOR_METADATA_FILE = "metadata.tsv"
PROJECTOR_CONFIG_FILE = "projector_config.pbtxt"
INFO_FILE = "embeddings.json"
# In the ModelRun artifact: metric name -> one value per epoch, as Keras' History has them.
HISTORY_FILE = "history.json"
# In the ModelRun artifact of a warm-started model: the model it started from and what was copied.
WARM_START_FILE = "warm_start.json"
# A checkpoint key of a Keras Embedding layer's weights (``layer_with_weights-0/embeddings/...``).
_EMBEDDING_KEY = "/embeddings/.ATTRIBUTES/VARIABLE_VALUE"


def serving_model_dir(model_uri: str) -> str:
    """The SavedModel folder of a Model artifact (TFX's ``Format-Serving``)."""
    from tfx.utils import path_utils

    return path_utils.serving_model_dir(model_uri)


def embeddings_dir(model_uri: str) -> str:
    """The folder of the embedding files of a Model artifact."""
    return os.path.join(serving_model_dir(model_uri), EMBEDDINGS_DIR)


def incomplete(model_uri: str) -> str | None:
    """The first file a Model artifact's readers need that is missing, empty or cut short, said with its
    path within the artifact (``Format-Serving/saved_model.pb is empty``); None when the artifact is whole.

    The Evaluator loads the SavedModel (``saved_model.pb`` with a ``serve`` MetaGraph, the files of its
    ``assets/``, the checkpoint's index and data shards, every tensor of which is read, its checksum
    checked); the warm start also reads
    ``embeddings/vocabulary.txt``, one line per row of the embedding, where the model has one (which its
    checkpoint's variable names tell: the ``embeddings/`` folder may be what is gone). No model is loaded.
    """
    serving = serving_model_dir(model_uri)
    prefix = os.path.join(serving, "variables", "variables")

    def shown(path: str) -> str:  # a path as the messages say it: within the artifact
        return os.path.relpath(path, model_uri)

    shards = (re.search(r"-of-([0-9]+)$", name) for name in tf.io.gfile.glob(f"{prefix}.data-*-of-*"))
    count = max((int(match[1]) for match in shards if match), default=1)
    needed = ["saved_model.pb", "variables/variables.index"]
    needed += [f"variables/variables.data-{shard:05d}-of-{count:05d}" for shard in range(count)]
    if fault := next(filter(None, (_fault(model_uri, os.path.join(serving, name)) for name in needed)), None):
        return fault
    try:
        with tf.io.gfile.GFile(os.path.join(serving, needed[0]), "rb") as file:
            saved_model = saved_model_pb2.SavedModel.FromString(file.read())
    except DecodeError:
        return f"{shown(os.path.join(serving, needed[0]))} cannot be read"
    serve = [graph for graph in saved_model.meta_graphs if "serve" in graph.meta_info_def.tags]
    if not serve:
        return f"{shown(os.path.join(serving, needed[0]))} holds no MetaGraph tagged serve"
    assets = (os.path.join(serving, "assets", asset.filename) for asset in serve[0].asset_file_def)
    if fault := next(filter(None, (_fault(model_uri, path, empty_ok=True) for path in assets)), None):
        return fault
    try:
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError:
        return f"{shown(prefix)}.index cannot be read"
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    tensor_bytes = sum(
        int(np.prod(shape)) * dtypes[key].size for key, shape in shapes.items() if dtypes[key] != tf.string
    )
    held = sum(tf.io.gfile.stat(os.path.join(serving, name)).length for name in needed[2:])
    if held < tensor_bytes:
        return (
            f"{shown(prefix)}.data-* are cut short: {held:,} bytes, "
            f"the tensors of its index take {tensor_bytes:,}"
        )
    for key in shapes:  # every tensor read, as the Evaluator restores them: a checksum each, in the index
        try:
            reader.get_tensor(key)
        except (tf.errors.OpError, IndexError):
            return f"{shown(prefix)}.data-* do not hold {key} as its index lists it"
    rows = next((shape[0] for key, shape in shapes.items() if key.endswith(_EMBEDDING_KEY)), None)
    if rows is None:
        return None
    vocabulary = os.path.join(embeddings_dir(model_uri), VOCABULARY_FILE)
    if fault := _fault(model_uri, vocabulary):
        return fault
    try:
        lines = len(read_vocabulary(vocabulary))
    except DamagedFileError as error:  # said, as the other faults, with its path within the artifact
        return str(error).replace(vocabulary, shown(vocabulary))
    if lines != rows:
        return f"{shown(vocabulary)} holds {lines:,} lines, its embedding {rows:,} rows"
    return None


def _fault(model_uri: str, path: str, empty_ok: bool = False) -> str | None:
    shown = os.path.relpath(path, model_uri)
    if not tf.io.gfile.exists(path):
        return f"{shown} is missing"
    return None if empty_ok or tf.io.gfile.stat(path).length else f"{shown} is empty"


def write_history(model_run_uri: str, history: dict[str, list[float]]) -> None:
    """Writes ``history.json`` (metric name -> value per epoch) into a ModelRun artifact."""
    write_json(
        os.path.join(model_run_uri, HISTORY_FILE),
        {key: list(map(float, values)) for key, values in history.items()},
    )


def read_history(model_run_uri: str) -> dict[str, list[float]] | None:
    """The per-epoch metrics of a ModelRun artifact; None when it has no ``history.json``."""
    history = read_json(os.path.join(model_run_uri, HISTORY_FILE))
    return None if history is None else {name: list(map(float, values)) for name, values in history.items()}


def write_warm_start(model_run_uri: str, record: dict) -> None:
    """Writes ``warm_start.json`` (the model started from, what was copied) into a ModelRun artifact."""
    write_json(os.path.join(model_run_uri, WARM_START_FILE), record, sort_keys=True)


def read_warm_start(model_run_uri: str) -> dict | None:
    """The warm-start record of a ModelRun artifact; None when the model started from scratch."""
    return read_json(os.path.join(model_run_uri, WARM_START_FILE))


def read_weights(model_uri: str) -> dict[str, np.ndarray]:
    """The Keras weights in a Model artifact's SavedModel, by Keras weight name (``dense/kernel:0``)."""
    loaded = tf.saved_model.load(serving_model_dir(model_uri))
    keras_model = getattr(loaded, "model", None)
    if keras_model is None:
        raise ValueError(f"the SavedModel of {model_uri} holds no Keras model (not this pipeline's Trainer)")
    return {
        variable.name: variable.numpy()
        for variable in tf.train.TrackableView(keras_model).descendants()
        if isinstance(variable, tf.Variable)
    }


def read_model_vocabulary(model_uri: str) -> list[str]:
    """The vocabulary a Model artifact was trained with (row i of its embedding), from its embedding files."""
    return read_vocabulary(os.path.join(embeddings_dir(model_uri), VOCABULARY_FILE))


def escape_token(token: str) -> str:
    """Makes a token safe for one TSV cell: backslash, tab and newlines escaped."""
    return token.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_NPY_MAGIC = b"\x93NUMPY"


def read_matrix(path: str) -> np.ndarray:
    """Loads a ``.npy`` matrix from any ``tf.io.gfile`` path in one read (an object store is slow on many).

    ``allow_pickle=False``: loading a pickled object array can run code.
    """
    with tf.io.gfile.GFile(path, "rb") as f:
        data = f.read()
    if not data.startswith(_NPY_MAGIC):
        # np.load would take it for a pickle and suggest allow_pickle=True.
        raise ValueError("not a .npy file (it does not start with NumPy's header)")
    return np.load(io.BytesIO(data), allow_pickle=False)


def read_vocabulary(path: str) -> list[str]:
    """Reads a ``vocabulary.txt`` as written here, by the EmbeddingAligner and by StatisticsGen: line i = row i.

    Raises:
        FileNotFoundError: There is no such file.
        DamagedFileError: Unreadable, not UTF-8, its last line cut short, CRLF line ends, or it does not
            start with the reserved tokens (a byte-order mark, or a file cut at its start).
    """
    vocabulary = read_lines(path)
    if vocabulary is None:
        raise FileNotFoundError(f"{path} does not exist")
    # The tokeniser splits at every ASCII white space (components/text.py; tests/test_text_properties.py
    # holds it), so no token ends in "\r": a line that does was written with CRLF line ends.
    crlf = next((number for number, token in enumerate(vocabulary, start=1) if token.endswith("\r")), None)
    if crlf:
        raise DamagedFileError(f"{path}, line {crlf}: ends in a carriage return (CRLF line ends)")
    head = vocabulary[: len(features.RESERVED_TOKENS)]
    if tuple(head) != features.RESERVED_TOKENS:
        raise DamagedFileError(
            f"{path} does not start with the reserved tokens {', '.join(features.RESERVED_TOKENS)}: "
            f"its first lines are {head!r}"
        )
    return vocabulary


def write_vocabulary(path: str, vocabulary: Sequence[str]) -> None:
    """Writes a ``vocabulary.txt``: one token per line, line i = row i."""
    with tf.io.gfile.GFile(path, "w") as f:
        f.write("".join(f"{token}\n" for token in vocabulary))


def write_embedding_artifacts(
    directory: str, vocabulary: list[str], trained: np.ndarray, injected: np.ndarray
) -> None:
    """Writes ``vocabulary.txt``, both matrices (float32) and the Embedding Projector files (no pad row)."""
    if trained.shape != injected.shape or trained.shape[0] != len(vocabulary):
        raise ValueError(
            f"matrices {trained.shape} / {injected.shape} do not match a vocabulary of {len(vocabulary)}"
        )
    if any("\n" in token for token in vocabulary):
        raise ValueError("a vocabulary token contains a newline; vocabulary.txt holds one token per line")
    tf.io.gfile.makedirs(directory)
    write_vocabulary(os.path.join(directory, VOCABULARY_FILE), vocabulary)
    for name, matrix in ((TRAINED_MATRIX_FILE, trained), (INJECTED_MATRIX_FILE, injected)):
        with tf.io.gfile.GFile(os.path.join(directory, name), "wb") as f:
            np.save(f, matrix.astype(np.float32), allow_pickle=False)

    rows = [i for i in range(len(vocabulary)) if i != features.PAD_ID]
    # One %-format per row over Python floats (exact copies of the float32 values): the same
    # text as formatting each value on its own with .6g, in half the time.
    line = "\t".join(["%.6g"] * trained.shape[1]) + "\n"
    with tf.io.gfile.GFile(os.path.join(directory, PROJECTOR_VECTORS_FILE), "w") as f:
        f.write("".join(line % tuple(values) for values in trained[rows].tolist()))
    with tf.io.gfile.GFile(os.path.join(directory, PROJECTOR_METADATA_FILE), "w") as f:
        f.write("".join(escape_token(vocabulary[i]) + "\n" for i in rows))
    with tf.io.gfile.GFile(os.path.join(directory, PROJECTOR_CONFIG_FILE), "w") as f:
        f.write(
            "embeddings {\n"
            '  tensor_name: "word_embeddings"\n'
            f'  tensor_path: "{PROJECTOR_VECTORS_FILE}"\n'
            f'  metadata_path: "{PROJECTOR_METADATA_FILE}"\n'
            "}\n"
        )
    info = {"rows": len(vocabulary), "dimension": int(trained.shape[1]), "pad_id": features.PAD_ID}
    write_json(
        os.path.join(directory, INFO_FILE), {**info, "unk_id": features.UNK_ID, "projector_rows": len(rows)}
    )
