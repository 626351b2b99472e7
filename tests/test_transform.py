"""Transform: tokenisation, vocabulary contents and exact token ids."""

import functools
import os

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import dataset_metadata, schema_utils
from tfx.dsl.components.base import base_beam_executor
from tfx.types import artifact_utils, standard_artifacts

from components.text import tokenize
from components.transform import executor
from components.transform.analyze_transform import AnalyzeAndTransform
from components.transform.options import TransformOptions
from components.transform.preprocessing import make_preprocessing_fn
from components.transform.token_vocabulary import ranked_tokens, token_vocabulary
from pipeline.pipeline import beam_args_with_dependencies
from schemas import features
from schemas.schema import RAW_SCHEMA_PATH, load_raw_schema
from tests.conftest import BEAM_RUNNER, examples_artifact


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Great movie.<br /><br />Loved it!", ["great", "movie", ".", "loved", "it", "!"]),
        ("I didn't like the film's ending", ["i", "did", "n't", "like", "the", "film", "'s", "ending"]),
        ("'Quoted' words -- well-made", ["quoted", "words", "-", "-", "well", "-", "made"]),
        ("CAFÉ Crème 10/10", ["café", "crème", "10", "/", "10"]),
        ("O'Brien's rock'n'roll", ["o'brien", "'s", "rock'n'roll"]),
        ("   <br/>  ", []),
        ("It\u2019s great \u2014 really\u2026", ["it", "'s", "great", "-", "really", ".", ".", "."]),
        ("It\x92s dull\x96 \x93meh\x94", ["it", "'s", "dull", "-", '"', "meh", '"']),
    ],
)
def test_tokenize(text, tokens):
    result = tokenize(tf.constant([text])).to_list()[0]
    assert [token.decode("utf-8") for token in result] == tokens


def test_tokenize_is_stable_when_applied_to_its_own_output():
    texts = tf.constant(["It's a 'must-see'!! Don't miss it.<br />", "Ünïcödé, ok?"])
    once = tokenize(texts)
    twice = tokenize(tf.strings.reduce_join(once, axis=1, separator=" "))
    assert once.to_list() == twice.to_list()


def test_preprocessing_fn_vocabulary_and_ids(transform_output_factory):
    texts = ["Good good movie!", "Bad movie. Bad bad acting", "good acting"]
    output = transform_output_factory(texts, TransformOptions(vocab_size=6, min_frequency=2, max_length=5))

    # Counts: bad 3, good 3, movie 2, acting 2, "!" 1, "." 1. Reserved tokens
    # first; ties are broken reverse-lexicographically; min_frequency drops "!"/".".
    vocabulary = [token.decode() for token in output.vocabulary_by_name(features.VOCABULARY_NAME)]
    assert vocabulary == ["<pad>", "<unk>", "good", "bad", "movie", "acting"]
    with open(output.vocabulary_file_by_name(features.TOKEN_COUNTS_NAME), encoding="utf-8") as counts:
        assert counts.read().split("\n")[:4] == ["3 good", "3 bad", "2 movie", "2 acting"]

    transformed = output.transform_raw_features(
        {features.TEXT: tf.constant(["good movie!", "bad bad bad bad bad bad acting", "unseen"])}
    )
    np.testing.assert_array_equal(
        transformed[features.TOKEN_IDS].numpy(),
        [[2, 4, 1, 0, 0], [3, 3, 3, 3, 3], [1, 0, 0, 0, 0]],
    )
    assert output.transformed_feature_spec()[features.TOKEN_IDS].shape == [5]


def test_ranked_tokens_follow_tf_transform_rules():
    counts = {b"a": 3, b"b": 3, b"<unk>": 5, b"c": 1, b"x\ny": 9, b"x\ry": 9, b"": 4, b"d": 2}
    # The largest pairs at or above the threshold; line breaks and the empty token never enter.
    assert ranked_tokens(counts, 3, 2) == [(5, b"<unk>"), (3, b"b"), (3, b"a")]
    assert ranked_tokens(counts, 10, 1) == [(5, b"<unk>"), (3, b"b"), (3, b"a"), (2, b"d"), (1, b"c")]


def _both_vocabularies(inputs, top_k, min_frequency):
    """tf.Transform's own two vocabularies and token_vocabulary's, over whitespace-split text."""
    tokens = tf.strings.split(inputs[features.TEXT])
    threshold = min_frequency if min_frequency > 1 else None
    reserved = list(features.RESERVED_TOKENS)
    tft.vocabulary(
        tokens, top_k=top_k, frequency_threshold=threshold, reserved_tokens=reserved, vocab_filename="tft"
    )
    tft.vocabulary(
        tokens, top_k=top_k, frequency_threshold=threshold, store_frequency=True, vocab_filename="tft_counts"
    )
    ids = tft.apply_vocabulary(
        tokens, token_vocabulary(tokens, top_k, min_frequency), default_value=features.UNK_ID
    )
    return {features.TOKEN_IDS: ids.to_tensor(default_value=features.PAD_ID, shape=[None, 4])}


@pytest.mark.parametrize(("top_k", "min_frequency"), [(3, 1), (5, 2), (20, 1)])
def test_token_vocabulary_writes_what_tf_transform_writes(tmp_path, top_k, min_frequency):
    texts = ["b a a <unk> z", "<unk> b c y y", "<pad> c a b y", "d e a"]
    schema = schema_utils.schema_from_feature_spec({features.TEXT: tf.io.FixedLenFeature([], tf.string)})
    with beam.Pipeline(runner=BEAM_RUNNER) as pipeline, tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        transform_fn = (
            pipeline | beam.Create([{features.TEXT: text} for text in texts]),
            dataset_metadata.DatasetMetadata(schema),
        ) | tft_beam.AnalyzeDataset(
            functools.partial(_both_vocabularies, top_k=top_k, min_frequency=min_frequency)
        )
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "graph"))
    output = tft.TFTransformOutput(str(tmp_path / "graph"))

    def read(name):
        with open(output.vocabulary_file_by_name(name), "rb") as file:
            return file.read()

    # Counts: a 4, y 3, b 3, c 2, <unk> 2, z 1, e 1, d 1, <pad> 1 (ties: the greater token first).
    assert read(features.VOCABULARY_NAME) == read("tft")
    assert read(features.TOKEN_COUNTS_NAME) == read("tft_counts")
    expected = {
        (3, 1): (b"<pad>\n<unk>\na\ny\nb\n", b"4 a\n3 y\n3 b\n"),
        # The top 5 include <unk>: it keeps only its reserved line in the vocabulary.
        (5, 2): (b"<pad>\n<unk>\na\ny\nb\nc\n", b"4 a\n3 y\n3 b\n2 c\n2 <unk>\n"),
        (20, 1): (
            b"<pad>\n<unk>\na\ny\nb\nc\nz\ne\nd\n",
            b"4 a\n3 y\n3 b\n2 c\n2 <unk>\n1 z\n1 e\n1 d\n1 <pad>\n",
        ),
    }
    assert (read(features.VOCABULARY_NAME), read(features.TOKEN_COUNTS_NAME)) == expected[
        top_k, min_frequency
    ]
    ids = output.transform_raw_features({features.TEXT: tf.constant(["a b c q"])})[features.TOKEN_IDS]
    vocabulary = read(features.VOCABULARY_NAME).decode().split()
    assert ids.numpy().tolist() == [
        [vocabulary.index(t) if t in vocabulary else features.UNK_ID for t in "abcq"]
    ]


def _example(text, label):
    example = tf.train.Example()
    example.features.feature[features.TEXT].bytes_list.value.append(text.encode())
    example.features.feature[features.LABEL].int64_list.value.append(label)
    example.features.feature[features.SOURCE].bytes_list.value.append(b"train/pos/0_9.txt")
    return example


TINY_SPLITS = {
    features.TRAIN: [("a fine film", 1), ("a dull film", 0), ("fine", 1)],
    features.EVAL: [("fine film", 1)],
    features.TEST: [("dull", 0), ("so dull", 0)],  # not transformed
    features.UNSUP: [],
}


def run_transform_executor(directory, splits, options, beam_args=(f"--runner={BEAM_RUNNER}",)):
    """Runs the real Transform executor on examples written from ``{split: [(text, label)]}``."""
    examples = examples_artifact(
        os.path.join(directory, "examples"),
        {split: [_example(*row) for row in rows] for split, rows in splits.items()},
    )
    schema = standard_artifacts.Schema()
    schema.uri = os.path.join(directory, "schema")
    os.makedirs(schema.uri)
    with open(os.path.join(schema.uri, executor.SCHEMA_FILE), "w") as f:
        f.write(RAW_SCHEMA_PATH.read_text())
    graph = standard_artifacts.TransformGraph()
    graph.uri = os.path.join(directory, "graph")
    transformed = standard_artifacts.Examples()
    transformed.uri = os.path.join(directory, "transformed")
    context = base_beam_executor.BaseBeamExecutor.Context(
        beam_pipeline_args=beam_args_with_dependencies(list(beam_args))
    )
    executor.Executor(context).Do(
        {"examples": [examples], "schema": [schema]},
        {"transform_graph": [graph], "transformed_examples": [transformed]},
        {"options": options.to_json()},
    )
    return tft.TFTransformOutput(graph.uri), transformed


def read_transformed(output, transformed, split):
    """Sorted (token ids, label) pairs of a transformed split."""
    spec = output.transformed_feature_spec()
    files = tf.io.gfile.glob(os.path.join(artifact_utils.get_split_uri([transformed], split), "*"))
    records = [
        tf.io.parse_single_example(record, spec)
        for record in tf.data.TFRecordDataset(files, compression_type="")
    ]
    return sorted((r[features.TOKEN_IDS].numpy().tolist(), int(r[features.LABEL])) for r in records)


def test_executor_writes_transform_graph_and_transformed_splits(tmp_path):
    output, transformed = run_transform_executor(
        str(tmp_path), TINY_SPLITS, TransformOptions(vocab_size=10, min_frequency=1, max_length=3)
    )
    # Train counts: fine 2, film 2, a 2, dull 1 (ties reverse-lexicographic);
    # eval and test text never enters the vocabulary.
    assert [t.decode() for t in output.vocabulary_by_name(features.VOCABULARY_NAME)] == [
        "<pad>",
        "<unk>",
        "fine",
        "film",
        "a",
        "dull",
    ]
    # Only the splits the Trainer reads; the Evaluator scores the raw test split through the SavedModel.
    assert artifact_utils.decode_split_names(transformed.split_names) == [features.TRAIN, features.EVAL]
    assert read_transformed(output, transformed, features.EVAL) == [([2, 3, 0], 1)]
    assert not tf.io.gfile.exists(os.path.join(transformed.uri, f"Split-{features.TEST}"))
    assert not tf.io.gfile.exists(os.path.join(output.transform_savedmodel_dir, "..", ".temp"))


# Real reviews of the bundled sample (pipeline/data/aclImdb_sample.tar.gz).
SAMPLE_REVIEWS = {
    features.TRAIN: [
        ("If you haven't seen this, it's terrible. It is pure trash.", 0),  # train/neg/12384_1.txt, cut
        ("Kept my attention from start to finish. Great performances added to this tremendous film.", 1),
        ("Primary plot!Primary direction!Poor interpretation.", 0),  # test/neg/5147_1.txt
    ],
    features.EVAL: [("This is a very cool movie.", 1)],  # test/pos/10773_7.txt, cut
}


def _ids_and_label(serialized):
    example = tf.train.Example.FromString(serialized)
    return (
        list(example.features.feature[features.TOKEN_IDS].int64_list.value),
        example.features.feature[features.LABEL].int64_list.value[0],
    )


def test_analyze_and_transform_on_real_reviews(tmp_path):
    options = TransformOptions(vocab_size=7, min_frequency=2, max_length=6, ngram_max=0)
    input_schema = executor.transform_input_schema(load_raw_schema(str(RAW_SCHEMA_PATH)))
    graph = str(tmp_path / "graph")
    with TestPipeline(runner=BEAM_RUNNER) as pipeline, tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        splits = {
            split: pipeline
            | f"Create[{split}]" >> beam.Create([_example(*row).SerializeToString() for row in rows])
            for split, rows in SAMPLE_REVIEWS.items()
        }
        transformed = splits | AnalyzeAndTransform(
            make_preprocessing_fn(options), input_schema, features.FIT_SPLITS, graph
        )
        ids = {
            split: examples | f"Ids[{split}]" >> beam.Map(_ids_and_label)
            for split, examples in transformed.items()
        }
        # First 6 tokens; 1 is <unk>: "if you have n't seen this", "kept my attention from start to",
        # "primary plot ! primary direction !" ("!" lost the tie for the last row).
        expected_train = [([1, 1, 1, 1, 1, 4], 0), ([1, 1, 1, 1, 1, 3], 1), ([5, 1, 1, 5, 1, 1], 0)]
        assert_that(ids[features.TRAIN], equal_to(expected_train), label="Train")
        # The eval review ("this is a very cool movie") is transformed but never analysed.
        assert_that(ids[features.EVAL], equal_to([([4, 1, 1, 1, 1, 1], 1)]), label="Eval")
    # Train counts of 2 or more: "." 5, then 2 each for to, this, primary, it and "!" (the greater
    # token first); vocab_size 7 leaves 5 rows after the reserved tokens.
    vocabulary = tft.TFTransformOutput(graph).vocabulary_by_name(features.VOCABULARY_NAME)
    assert [token.decode() for token in vocabulary] == ["<pad>", "<unk>", ".", "to", "this", "primary", "it"]


def test_a_vocabulary_of_no_word_names_transform_min_frequency():
    with pytest.raises(executor.EmptyVocabularyError) as error:
        executor.check_vocabulary_words(list(features.RESERVED_TOKENS), TransformOptions(min_frequency=5000))
    assert str(error.value) == (
        "the vocabulary keeps no word: no token is seen 5,000 times or more in the train split "
        "(transform.min_frequency is 5000); lower transform.min_frequency"
    )
    executor.check_vocabulary_words([*features.RESERVED_TOKENS, "film"], TransformOptions(min_frequency=5000))
