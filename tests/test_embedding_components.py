"""Word2Vec and EmbeddingAligner executors run on real tiny artifacts written by the tests."""

import collections
import json
import logging
import os
from pathlib import Path

import apache_beam as beam
from gensim.models import KeyedVectors
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
from tfx import types
from tfx.dsl.components.base import base_beam_executor
from tfx.types import standard_artifacts

from components.artifacts import embedding_matrix, embedding_vectors
from components.artifacts.embedding_matrix import vocabulary_fingerprint
from components.artifacts.types import EmbeddingMatrix, EmbeddingVectors
from components.embeddings import executor
from components.embeddings.component import EmbeddingAligner, Word2Vec
from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.embeddings.vector_files import WORD2VEC, VectorFileError, iter_vectors
from components.transform.options import TransformOptions
from components.transform.preprocessing import make_preprocessing_fn
from pipeline.pipeline import beam_args_with_dependencies
from schemas import features
from tests.conftest import examples_artifact

# Train-split counts after tokenisation: movie 3, great 2, boring 1, ! 1.
TRAIN_ROWS = [
    {features.TEXT: "Great movie great", features.LABEL: 1},
    {features.TEXT: "Boring movie!", features.LABEL: 0},
    {features.TEXT: "movie", features.LABEL: 0},
]
TRANSFORM_OPTIONS = TransformOptions(vocab_size=10, min_frequency=1, max_length=4)
GLOVE = {
    "the": [0.5, 0.25, -1.0],
    "Boring": [-2.0, 1.5, 0.125],
    "movie": [1.0, -0.5, 3.0],
    "film": [9.0, 9.0, 9.0],
}


@pytest.fixture(scope="module")
def transform_graph_dir(tmp_path_factory) -> str:
    """A real tf.Transform output of the project's preprocessing_fn on three reviews."""
    root = tmp_path_factory.mktemp("transform")
    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec(
            {
                features.TEXT: tf.io.FixedLenFeature([], tf.string),
                features.LABEL: tf.io.FixedLenFeature([], tf.int64),
            }
        )
    )
    output_dir = str(root / "transform_graph")
    with beam.Pipeline(runner="FnApiRunner") as pipeline, tft_beam.Context(temp_dir=str(root / "tmp")):
        _, transform_fn = (
            pipeline | beam.Create(TRAIN_ROWS),
            metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(make_preprocessing_fn(TRANSFORM_OPTIONS))
        _ = transform_fn | tft_beam.WriteTransformFn(output_dir)
    return output_dir


def _artifact(artifact_type: type[types.Artifact], uri: Path | str) -> types.Artifact:
    artifact = artifact_type()
    artifact.uri = str(uri)
    return artifact


def _align_with(transform_graph_dir: str, vectors_uri: Path | str, out: Path, options: EmbeddingOptions):
    out.mkdir()
    embedding = _artifact(EmbeddingMatrix, out)
    executor.EmbeddingAlignerExecutor().Do(
        {
            "transform_graph": [_artifact(standard_artifacts.TransformGraph, transform_graph_dir)],
            "vectors": [_artifact(EmbeddingVectors, vectors_uri)],
        },
        {"embedding": [embedding]},
        {"options": options.to_json()},
    )
    return embedding


def test_aligner_writes_matrix_vocabulary_coverage_and_properties(transform_graph_dir, tmp_path):
    glove = tmp_path / "glove.3d.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in GLOVE.items()), encoding="utf-8")
    out = tmp_path / "embedding"
    embedding = _align_with(transform_graph_dir, glove, out, EmbeddingOptions(oov_init="zeros"))

    vocabulary = [
        token.decode("utf-8")
        for token in tft.TFTransformOutput(transform_graph_dir).vocabulary_by_name(features.VOCABULARY_NAME)
    ]
    assert sorted(vocabulary) == sorted([*features.RESERVED_TOKENS, "movie", "great", "boring", "!"])
    assert (out / embedding_matrix.VOCABULARY_FILE).read_text(encoding="utf-8").splitlines() == vocabulary

    matrix = np.load(out / embedding_matrix.MATRIX_FILE)
    assert matrix.dtype == np.float32
    assert matrix.shape == (len(vocabulary), 3)
    expected_rows = {"movie": GLOVE["movie"], "boring": GLOVE["Boring"], "great": [0, 0, 0], "!": [0, 0, 0]}
    for word, row in expected_rows.items():
        np.testing.assert_array_equal(matrix[vocabulary.index(word)], np.array(row, dtype=np.float32))
    np.testing.assert_array_equal(matrix[features.PAD_ID], np.zeros(3, np.float32))
    np.testing.assert_array_equal(matrix[features.UNK_ID], np.zeros(3, np.float32))

    coverage = json.loads((out / embedding_matrix.COVERAGE_FILE).read_text(encoding="utf-8"))
    assert (coverage["exact"], coverage["lowercase"], coverage["missing"]) == (1, 1, 2)
    assert coverage["top_missing"] == [{"word": "great", "count": 2}, {"word": "!", "count": 1}]
    assert (coverage["vectors_path"], coverage["vectors_format"]) == (str(glove), "glove")

    assert embedding.get_string_custom_property(
        embedding_matrix.VOCABULARY_SHA256_PROPERTY
    ) == vocabulary_fingerprint(vocabulary)
    assert (
        embedding.get_string_custom_property(embedding_matrix.TRANSFORM_GRAPH_URI_PROPERTY)
        == transform_graph_dir
    )
    assert embedding.get_int_custom_property(embedding_matrix.DIMENSION_PROPERTY) == 3
    assert embedding.get_float_custom_property(embedding_matrix.COVERAGE_WORDS_PROPERTY) == 2 / 4
    assert embedding.get_float_custom_property(embedding_matrix.COVERAGE_TOKENS_PROPERTY) == pytest.approx(
        4 / 7
    )

    read_matrix, read_vocabulary = embedding_matrix.read_embedding_matrix(str(out))
    np.testing.assert_array_equal(read_matrix, matrix)
    assert read_vocabulary == vocabulary


def test_aligner_without_pretrained_vectors_writes_the_seeded_random_rows(transform_graph_dir, tmp_path):
    glove = tmp_path / "glove.3d.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in GLOVE.items()), encoding="utf-8")
    out = tmp_path / "embedding"
    _align_with(transform_graph_dir, glove, out, EmbeddingOptions(pretrained=False, seed=5))

    matrix, vocabulary = embedding_matrix.read_embedding_matrix(str(out))
    # Rows 2-5 (movie, great, boring, !; found or not): seeded standard normal times the spread of
    # the two vectors found (movie's and Boring's): half their difference, per dimension.
    spread = np.abs(np.array(GLOVE["movie"]) - np.array(GLOVE["Boring"])) / 2
    expected = np.random.default_rng(5).standard_normal((len(vocabulary) - 2, 3)) * spread
    np.testing.assert_array_equal(matrix[2:], expected.astype(np.float32))
    np.testing.assert_array_equal(matrix[: features.UNK_ID + 1], np.zeros((2, 3), np.float32))
    coverage = json.loads((out / embedding_matrix.COVERAGE_FILE).read_text(encoding="utf-8"))
    assert (coverage["pretrained"], coverage["exact"], coverage["lowercase"]) == (False, 1, 1)


def _text_example(text: str) -> tf.train.Example:
    feature = {features.TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))}
    return tf.train.Example(features=tf.train.Features(feature=feature))


TRAIN_TEXTS = ["Great movie, great fun!", "A boring movie.", "Great fun"] * 4
UNSUP_TEXTS = ["An unlabeled movie review", "Another review"] * 2
EVAL_TEXTS = ["Evaluationonly words stay out evaluationonly"] * 5


def test_word2vec_executor_trains_on_train_and_unsup_only(transform_graph_dir, tmp_path):
    examples = examples_artifact(
        tmp_path / "examples",
        {
            features.TRAIN: [_text_example(text) for text in TRAIN_TEXTS],
            features.EVAL: [_text_example(text) for text in EVAL_TEXTS],
            features.UNSUP: [_text_example(text) for text in UNSUP_TEXTS],
        },
    )
    output_dir = tmp_path / "vectors"
    output_dir.mkdir()
    vectors = _artifact(EmbeddingVectors, output_dir)
    options = Word2VecOptions(dimension=6, min_count=2, epochs=2, workers=1)
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(["--runner=FnApiRunner"])
    )
    executor.Word2VecExecutor(context).Do(
        {"examples": [examples]}, {"vectors": [vectors]}, {"options": options.to_json()}
    )

    assert sorted(os.listdir(output_dir)) == [embedding_vectors.VECTORS_FILE]  # the corpus is gone
    read = list(iter_vectors(str(output_dir / embedding_vectors.VECTORS_FILE), WORD2VEC))
    counts = collections.Counter(
        ["great", "movie", ",", "great", "fun", "!", "a", "boring", "movie", ".", "great", "fun"] * 4
        + ["an", "unlabeled", "movie", "review", "another", "review"] * 2
    )
    assert sorted(word for word, _ in read) == sorted(word for word, count in counts.items() if count >= 2)
    assert {vector.shape for _, vector in read} == {(6,)}
    assert vectors.get_int_custom_property(embedding_vectors.DIMENSION_PROPERTY) == 6
    assert vectors.get_int_custom_property(embedding_vectors.WORDS_PROPERTY) == len(read)

    # The directory artifact is accepted by the aligner, which reads <uri>/vectors.txt.
    out = tmp_path / "embedding"
    embedding = _align_with(transform_graph_dir, output_dir, out, EmbeddingOptions())
    matrix, vocabulary = embedding_matrix.read_embedding_matrix(str(out))
    trained = dict(read)
    for word in ("movie", "great", "boring", "!"):
        np.testing.assert_array_equal(matrix[vocabulary.index(word)], trained[word])
    assert embedding.get_float_custom_property(embedding_matrix.COVERAGE_WORDS_PROPERTY) == 1.0


def test_components_carry_options_and_typed_channels():
    w2v_options = Word2VecOptions(dimension=50)
    examples = types.Channel(type=standard_artifacts.Examples)
    word2vec = Word2Vec(examples=examples, options=w2v_options)
    assert Word2VecOptions.from_json(word2vec.exec_properties["options"]) == w2v_options
    assert word2vec.outputs["vectors"].type is EmbeddingVectors

    aligner = EmbeddingAligner(
        transform_graph=types.Channel(type=standard_artifacts.TransformGraph),
        vectors=word2vec.outputs["vectors"],
        options=EmbeddingOptions(oov_init="mean"),
    )
    assert EmbeddingOptions.from_json(aligner.exec_properties["options"]).oov_init == "mean"
    assert aligner.outputs["embedding"].type is EmbeddingMatrix


@pytest.mark.parametrize(
    ("writer", "expected_format"),
    [
        (lambda vectors, path: vectors.save_word2vec_format(path, binary=True), "word2vec_binary"),
        (lambda vectors, path: vectors.save_word2vec_format(path, binary=False), "word2vec"),
    ],
    ids=["binary", "text"],
)
def test_aligner_reads_every_format_detected_or_named(transform_graph_dir, tmp_path, writer, expected_format):
    vectors = KeyedVectors(3)
    vectors.add_vectors(list(GLOVE), np.array(list(GLOVE.values()), dtype=np.float32))
    path = str(tmp_path / "pretrained.vectors")
    writer(vectors, path)
    for requested, out in (("auto", tmp_path / "detected"), (expected_format, tmp_path / "named")):
        _align_with(
            transform_graph_dir, path, out, EmbeddingOptions(oov_init="zeros", vectors_format=requested)
        )
        matrix, vocabulary = embedding_matrix.read_embedding_matrix(str(out))
        np.testing.assert_array_equal(matrix[vocabulary.index("movie")], np.float32(GLOVE["movie"]))
        np.testing.assert_array_equal(matrix[vocabulary.index("boring")], np.float32(GLOVE["Boring"]))
        coverage = json.loads((out / embedding_matrix.COVERAGE_FILE).read_text(encoding="utf-8"))
        assert coverage["vectors_format"] == expected_format
        assert (coverage["exact"], coverage["lowercase"], coverage["vectors_read"]) == (1, 1, 4)


def test_aligner_format_option_applies_to_imported_files_only(transform_graph_dir, tmp_path):
    word2vec_dir = tmp_path / "word2vec_output"
    word2vec_dir.mkdir()
    (word2vec_dir / embedding_vectors.VECTORS_FILE).write_text(
        "2 3\nmovie 1 2 3\ngreat 4 5 6\n", encoding="utf-8"
    )
    assert executor.vector_file(str(word2vec_dir), "word2vec_binary") == (
        str(word2vec_dir / embedding_vectors.VECTORS_FILE),
        WORD2VEC,
    )
    out = tmp_path / "embedding"
    _align_with(transform_graph_dir, word2vec_dir, out, EmbeddingOptions(vectors_format="glove"))
    assert json.loads((out / embedding_matrix.COVERAGE_FILE).read_text())["vectors_format"] == WORD2VEC

    # Named wrongly for an imported file: the reader's error names the file and line.
    glove = tmp_path / "glove.txt"
    glove.write_text("movie 1 2 3\n", encoding="utf-8")
    with pytest.raises(VectorFileError, match=r"glove.txt, line 1: expected a '<count> <dimension>' header"):
        _align_with(
            transform_graph_dir, glove, tmp_path / "wrong", EmbeddingOptions(vectors_format="word2vec")
        )


def test_aligner_logs_the_coverage_with_the_missing_words(transform_graph_dir, tmp_path, caplog):
    glove = tmp_path / "glove.3d.txt"
    glove.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in GLOVE.items()), encoding="utf-8")
    with caplog.at_level(logging.INFO, logger=executor.__name__):
        _align_with(transform_graph_dir, glove, tmp_path / "embedding", EmbeddingOptions())
    (done,) = [
        record.getMessage() for record in caplog.records if "EmbeddingAligner done" in record.getMessage()
    ]
    assert done.endswith(
        "coverage: 2 of 4 words (50.0%: 1 exact, 1 lower-cased), 57.1% of token occurrences; 2 missing; "
        "4 vectors read; most frequent missing: great (2), ! (1)"
    )
