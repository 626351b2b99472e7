"""Word vectors trained on the run's own review text.

Pretrained files miss much of the IMDb vocabulary (GloVe 6B lacks *boring* and
*masterpiece* in its top 10k); word2vec on the train and unsup reviews covers
nearly all of it. The corpus is tokenised with the Transform's own
:func:`~components.text.tokenize`, so every vector belongs to a token
the classifier will actually see.

Two stages: a Beam pipeline writes the tokenised corpus (one review per line,
tokens separated by single spaces), then gensim trains on that file in its
``corpus_file`` mode, which reads the file from C threads without the GIL.
"""

from collections.abc import Iterator, Sequence
import contextlib
import itertools
import logging
import os
import tempfile
import time

import apache_beam as beam
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
import tensorflow as tf

from components.embeddings.options import Word2VecAlgorithm, Word2VecOptions
from components.loop_progress import Progress
from components.plural import counted
from components.text import tokenize
from schemas import features

logger = logging.getLogger(__name__)

METRICS_NAMESPACE = "word2vec"
REVIEWS_COUNTER = "reviews"
TOKENS_COUNTER = "tokens"
EMPTY_REVIEWS_COUNTER = "empty_reviews"
_MAX_BATCH_SIZE = 256


@beam.ptransform_fn
def ReadReviewTexts(pbegin: beam.pvalue.PBegin, file_patterns: str | Sequence[str]) -> beam.PCollection:
    """Reads the review text (``features.TEXT``) of serialized tf.train.Examples.

    Args:
        file_patterns: One or more patterns of gzip-compressed TFRecord files,
            such as ``<examples uri>/Split-train/*``. A pattern that matches no
            file contributes nothing (an empty unsup split is fine).
    """
    patterns = [file_patterns] if isinstance(file_patterns, str) else list(file_patterns)
    return (
        pbegin
        | "FilePatterns" >> beam.Create(patterns)
        | "ReadRecords" >> beam.io.ReadAllFromTFRecord()
        | "ExtractText" >> beam.FlatMap(_review_text)
    )


@beam.ptransform_fn
def TokenizeTexts(texts: beam.PCollection) -> beam.PCollection:
    """Turns review texts (bytes or str) into corpus lines: tokens joined by single spaces.

    Reviews without any token are dropped (gensim would skip them anyway).
    Counts reviews, tokens and empty reviews in Beam counters of namespace
    ``METRICS_NAMESPACE``.
    """
    return (
        texts
        | "Batch" >> beam.BatchElements(max_batch_size=_MAX_BATCH_SIZE)
        | "Tokenize" >> beam.ParDo(_TokenizeBatch())
    )


@beam.ptransform_fn
def BuildCorpus(
    pbegin: beam.pvalue.PBegin, file_patterns: str | Sequence[str], corpus_path: str
) -> beam.pvalue.PDone:
    """Reads, tokenises and writes the corpus of some Examples files to one text file.

    Args:
        file_patterns: As for :func:`ReadReviewTexts`.
        corpus_path: The file to write (exactly this name: one shard, no suffix).
    """
    return (
        pbegin
        | "ReadReviewTexts" >> ReadReviewTexts(file_patterns)
        | "TokenizeTexts" >> TokenizeTexts()
        | "WriteCorpus" >> beam.io.WriteToText(corpus_path, num_shards=1, shard_name_template="")
    )


class _TokenizeBatch(beam.DoFn):
    def __init__(self):
        super().__init__()
        self._reviews = beam.metrics.Metrics.counter(METRICS_NAMESPACE, REVIEWS_COUNTER)
        self._tokens = beam.metrics.Metrics.counter(METRICS_NAMESPACE, TOKENS_COUNTER)
        self._empty = beam.metrics.Metrics.counter(METRICS_NAMESPACE, EMPTY_REVIEWS_COUNTER)
        self._tokenize = None

    def setup(self) -> None:
        # Traced once per DoFn instance, not once per batch.
        self._tokenize = tf.function(tokenize, input_signature=[tf.TensorSpec([None], tf.string)])

    def process(self, texts: list[bytes | str]) -> Iterator[str]:
        tokens = self._tokenize(tf.constant(texts, dtype=tf.string))
        values = tokens.flat_values.numpy()
        splits = tokens.row_splits.numpy()
        for start, end in itertools.pairwise(splits):
            if end == start:
                self._empty.inc()
                continue
            self._reviews.inc()
            self._tokens.inc(int(end - start))
            yield b" ".join(values[start:end]).decode("utf-8")


def _review_text(record: bytes) -> Iterator[bytes]:
    example = tf.train.Example.FromString(record)
    yield from example.features.feature[features.TEXT].bytes_list.value


def new_model(options: Word2VecOptions) -> Word2Vec:
    """An untrained gensim model configured by ``options``."""
    return Word2Vec(
        vector_size=options.dimension,
        window=options.window,
        min_count=options.min_count,
        epochs=options.epochs,
        sg=1 if options.algorithm == Word2VecAlgorithm.SKIPGRAM else 0,
        negative=options.negative,
        sample=options.sample,
        workers=options.workers,
        seed=options.seed,
    )


def train_word2vec(corpus_file: str, options: Word2VecOptions) -> KeyedVectors:
    """Trains word2vec on a corpus file of space-separated tokens, one review per line.

    gensim logs its progress (vocabulary scan, epochs, words per second) at
    INFO through the standard ``logging`` module.

    ``corpus_file`` must be local (gensim reads it from C, so no gs:// URLs).
    Returns the vectors of the words seen at least ``options.min_count`` times;
    with ``options.workers == 1`` the same corpus and seed give identical vectors.

    Raises:
        ValueError: If the corpus is empty or no word reaches ``min_count``.
    """
    if os.path.getsize(corpus_file) == 0:
        raise ValueError(f"{corpus_file}: the word2vec corpus is empty")
    model = new_model(options)
    model.build_vocab(corpus_file=corpus_file)
    if len(model.wv) == 0:
        raise ValueError(
            f"{corpus_file}: no word occurs at least {counted(options.min_count, 'time')} "
            f"in {counted(model.corpus_count, 'review')}; lower word2vec.min_count or add text"
        )
    logger.info(
        f"word2vec: {options.algorithm} on {model.corpus_count} reviews, {model.corpus_total_words} tokens; "
        f"{len(model.wv)} words with at least {options.min_count} occurrences"
    )
    model.train(
        corpus_file=corpus_file,
        total_examples=model.corpus_count,
        total_words=model.corpus_total_words,
        epochs=model.epochs,
        callbacks=[EpochProgress(model.epochs)],
    )
    return model.wv


class EpochProgress(CallbackAny2Vec):
    """Word2vec epochs as they finish: a bar on a terminal, one log line per epoch otherwise."""

    def __init__(self, epochs: int, terminal: bool | None = None):
        self._epochs = epochs
        self._terminal = terminal
        self._progress: Progress | None = None
        self._epoch_started = 0.0

    def on_train_begin(self, model):
        self._progress = Progress(
            "word2vec", total=self._epochs, unit="epochs", interval=0, terminal=self._terminal, log=logger
        )

    def on_epoch_begin(self, model):
        self._epoch_started = time.monotonic()

    def on_epoch_end(self, model):
        self._progress.update(1, f"last epoch {time.monotonic() - self._epoch_started:.1f} s")

    def on_train_end(self, model):
        self._progress.close()


def save_vectors(vectors: KeyedVectors, path: str) -> None:
    """Writes word2vec text format with its ``<count> <dim>`` header, most frequent first.

    A standard format, so a later run can take the file as its pretrained vectors.
    """
    with local_path(path, upload=True) as local:
        vectors.save_word2vec_format(local, binary=False)


@contextlib.contextmanager
def local_path(path: str, upload: bool = False) -> Iterator[str]:
    """``path`` itself if local, else a temporary local file (gensim reads and writes files from C).

    The temporary file is a copy of ``path`` to read, or with ``upload`` is
    copied to ``path`` once written.
    """
    if "://" not in path:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="word2vec-", ignore_cleanup_errors=True) as local_dir:
        local = os.path.join(local_dir, os.path.basename(path))
        if not upload:
            tf.io.gfile.copy(path, local, overwrite=True)
        yield local
        if upload:
            tf.io.gfile.copy(local, path, overwrite=True)
