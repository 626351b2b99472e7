"""Word2Vec step cores: Beam corpus building with the Transform tokenizer, and gensim training."""

import collections
import os

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from gensim.models import KeyedVectors
import numpy as np
import pytest
import tensorflow as tf

from components.embeddings.options import Word2VecOptions
from components.embeddings.vector_files import WORD2VEC, detect_format, iter_vectors
from components.embeddings.word2vec import (
    BuildCorpus,
    ReadReviewTexts,
    TokenizeTexts,
    local_path,
    new_model,
    save_vectors,
    train_word2vec,
)
from schemas import features

TEXTS = [
    "Great movie.<br /><br />Loved it!",
    b"I didn't like the film's ending",
    "   <br/>  ",
    "CAFÉ Crème 10/10",
]
LINES = [
    "great movie . loved it !",
    "i did n't like the film 's ending",
    "café crème 10 / 10",
]


def _example(text: str, label: int | None = None) -> bytes:
    feature = {features.TEXT: tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode("utf-8")]))}
    if label is not None:
        feature[features.LABEL] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_examples(path, texts) -> None:
    """Writes a gzip TFRecord file of Examples, as ExampleGen does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for text in texts:
            writer.write(_example(text, label=1))


def test_tokenize_texts_gives_one_line_per_non_empty_review():
    with TestPipeline(runner="FnApiRunner") as pipeline:
        lines = pipeline | beam.Create(TEXTS) | TokenizeTexts()
        assert_that(lines, equal_to(LINES))


def test_read_review_texts_from_gzip_tfrecords(tmp_path):
    write_examples(tmp_path / "Split-train" / "data_tfrecord-00000-of-00001.gz", ["A good film", "Bad"])
    write_examples(tmp_path / "Split-unsup" / "data_tfrecord-00000-of-00001.gz", ["Unlabeled text"])
    (tmp_path / "Split-empty").mkdir()
    patterns = [str(tmp_path / f"Split-{split}" / "*") for split in ("train", "unsup", "empty")]
    with TestPipeline(runner="FnApiRunner") as pipeline:
        texts = pipeline | ReadReviewTexts(patterns)
        assert_that(texts, equal_to([b"A good film", b"Bad", b"Unlabeled text"]))


def test_build_corpus_writes_exactly_one_file(tmp_path):
    write_examples(
        tmp_path / "examples" / "data.gz", [t if isinstance(t, str) else t.decode() for t in TEXTS]
    )
    corpus = tmp_path / "corpus" / "corpus.txt"
    with beam.Pipeline(runner="FnApiRunner") as pipeline:
        _ = pipeline | BuildCorpus(str(tmp_path / "examples" / "*"), str(corpus))
    assert sorted(corpus.read_text(encoding="utf-8").splitlines()) == sorted(LINES)
    assert [path.name for path in corpus.parent.iterdir()] == ["corpus.txt"]


CORPUS = [
    "the movie was great and the acting was great",
    "the movie was boring and the plot was boring",
    "a great film with great acting",
    "a boring film with a boring plot",
] * 5
OPTIONS = Word2VecOptions(
    dimension=8, window=2, min_count=2, epochs=3, algorithm="skipgram", workers=1, seed=3
)


def test_train_word2vec_is_reproducible_with_one_worker(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    first = train_word2vec(str(corpus), OPTIONS)
    second = train_word2vec(str(corpus), OPTIONS)
    expected_counts = collections.Counter(word for line in CORPUS for word in line.split())
    assert {word: first.get_vecattr(word, "count") for word in first.index_to_key} == expected_counts
    assert first.vectors.shape == (len(expected_counts), 8)
    assert first.index_to_key == second.index_to_key
    np.testing.assert_array_equal(first.vectors, second.vectors)
    other_seed = train_word2vec(str(corpus), Word2VecOptions(**{**OPTIONS.to_dict(), "seed": 4}))
    assert not np.array_equal(first.vectors, other_seed.vectors)


def test_min_count_drops_rare_words(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("common common rare\ncommon other other\n", encoding="utf-8")
    vectors = train_word2vec(str(corpus), Word2VecOptions(dimension=4, min_count=2, epochs=1))
    assert sorted(vectors.index_to_key) == ["common", "other"]


def test_negative_samples_and_subsampling_reach_gensim(tmp_path):
    model = new_model(Word2VecOptions(negative=3, sample=0.0))
    assert (model.negative, model.sample) == (3, 0.0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    default = train_word2vec(str(corpus), OPTIONS)
    for change in ({"sample": 0.0}, {"negative": 1}):
        changed = train_word2vec(str(corpus), Word2VecOptions(**{**OPTIONS.to_dict(), **change}))
        assert changed.index_to_key == default.index_to_key
        assert not np.array_equal(changed.vectors, default.vectors), change


def test_train_word2vec_rejects_empty_or_too_rare_corpus(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="the word2vec corpus is empty"):
        train_word2vec(str(corpus), OPTIONS)
    corpus.write_text("each word once\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no word occurs at least 2 times in 1 review;"):
        train_word2vec(str(corpus), OPTIONS)


def test_saved_vectors_read_back_exactly_in_word2vec_text_format(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    vectors = train_word2vec(str(corpus), OPTIONS)
    path = tmp_path / "vectors.txt"
    save_vectors(vectors, str(path))
    assert path.read_text(encoding="utf-8").splitlines()[0] == f"{len(vectors)} 8"
    assert detect_format(str(path)) == WORD2VEC
    read = list(iter_vectors(str(path)))
    assert [word for word, _ in read] == vectors.index_to_key
    for word, vector in read:
        np.testing.assert_array_equal(vector, vectors[word])


def test_vectors_go_to_and_come_from_a_remote_path_through_a_temporary_local_file(tmp_path):
    # gensim reads and writes files from C, so a remote file (ram:// stands in for gs://) is copied.
    vectors = KeyedVectors(2)
    vectors.add_vectors(["good", "bad"], np.array([[1.0, 2.0], [3.0, -4.0]], dtype=np.float32))
    remote = f"ram://{tmp_path.name}/vectors.txt"
    save_vectors(vectors, remote)
    written = "2 2\ngood 1.0 2.0\nbad 3.0 -4.0\n"
    with tf.io.gfile.GFile(remote) as stream:
        assert stream.read() == written
    with local_path(remote) as local:
        assert "://" not in local
        with open(local, encoding="utf-8") as stream:
            assert stream.read() == written
    assert not os.path.exists(local)
    assert [(word, vector.tolist()) for word, vector in iter_vectors(remote)] == [
        ("good", [1.0, 2.0]),
        ("bad", [3.0, -4.0]),
    ]
