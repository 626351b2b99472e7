"""Executors of the Word2Vec and EmbeddingAligner steps: read artifacts, call the cores, write artifacts."""

import logging
import os
import time

import tensorflow as tf
import tensorflow_transform as tft
from tfx import types
from tfx.dsl.components.base import base_beam_executor, base_executor
from tfx.types import artifact_utils

from components.artifacts import embedding_matrix, embedding_vectors, transform_graph
from components.beam_utils import run_and_count
from components.component_spec import Artifacts, Properties
from components.embeddings import vector_files
from components.embeddings.align import align
from components.embeddings.options import EmbeddingOptions, Word2VecOptions
from components.embeddings.word2vec import (
    METRICS_NAMESPACE,
    REVIEWS_COUNTER,
    TOKENS_COUNTER,
    BuildCorpus,
    local_path,
    save_vectors,
    train_word2vec,
)
from components.file_patterns import all_files_pattern
from schemas import features

logger = logging.getLogger(__name__)

_CORPUS_DIR = ".corpus"
_CORPUS_FILE = "corpus.txt"


class Word2VecExecutor(base_beam_executor.BaseBeamExecutor):
    """Tokenises the train and unsup reviews with Beam, then trains word2vec with gensim."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = Word2VecOptions.from_exec_properties(exec_properties)
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        output = artifact_utils.get_single_instance(output_dict["vectors"])
        splits = embedding_text_splits(examples)
        patterns = [all_files_pattern(artifact_utils.get_split_uri([examples], split)) for split in splits]
        logger.info(
            f"Word2Vec: {options.algorithm}, {options.dimension} dimensions, window {options.window}, min count "
            f"{options.min_count}, {options.negative} negative samples, subsampling {options.sample:g}, "
            f"{options.epochs} epochs, {options.workers} workers, on splits {'+'.join(splits)}"
        )
        started = time.monotonic()
        corpus_dir = os.path.join(output.uri, _CORPUS_DIR)
        try:
            corpus_path = os.path.join(corpus_dir, _CORPUS_FILE)
            pipeline = self._make_beam_pipeline()
            _ = pipeline | "BuildCorpus" >> BuildCorpus(patterns, corpus_path)
            counts = run_and_count(pipeline, METRICS_NAMESPACE)
            corpus_seconds = time.monotonic() - started
            with local_path(corpus_path) as local_corpus:
                vectors = train_word2vec(local_corpus, options)
            save_vectors(vectors, embedding_vectors.vectors_path(output.uri))
        finally:
            if tf.io.gfile.exists(corpus_dir):
                tf.io.gfile.rmtree(corpus_dir)

        embedding_vectors.set_properties(output, words=len(vectors), dimension=vectors.vector_size)
        logger.info(
            f"Word2Vec done in {time.monotonic() - started:.1f} s (corpus {corpus_seconds:.1f} s): "
            f"{len(vectors):,} vectors of {vectors.vector_size} dimensions from "
            f"{counts.get(REVIEWS_COUNTER, 0):,} reviews, {counts.get(TOKENS_COUNTER, 0):,} tokens -> "
            f"{embedding_vectors.vectors_path(output.uri)}"
        )


class EmbeddingAlignerExecutor(base_executor.BaseExecutor):
    """Builds the embedding matrix for the Transform vocabulary from a word-vector file."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = EmbeddingOptions.from_exec_properties(exec_properties)
        graph = artifact_utils.get_single_instance(input_dict["transform_graph"])
        vectors_path, vector_format = vector_file(
            artifact_utils.get_single_uri(input_dict["vectors"]), options.vectors_format
        )
        output = artifact_utils.get_single_instance(output_dict["embedding"])

        tft_output = tft.TFTransformOutput(graph.uri)
        vocabulary = transform_graph.vocabulary(tft_output)
        counts_path = transform_graph.token_counts_path(tft_output)
        token_counts = transform_graph.read_token_counts(counts_path) if counts_path else None
        logger.info(
            f"EmbeddingAligner: {len(vocabulary):,} vocabulary rows from {graph.uri}, {vector_format} vectors "
            f"from {vectors_path} (oov {options.oov_init}, unk {options.unk_init}, lower-case fallback "
            f"{'on' if options.lowercase_fallback else 'off'})"
        )
        started = time.monotonic()
        # align() checks options.dimension on the first vectors (pre-flight checked only local files).
        matrix, coverage = align(
            vocabulary,
            vector_files.iter_vectors(vectors_path, vector_format),
            options,
            token_counts,
            vectors_source=vectors_path,
        )

        report = {
            **coverage.to_dict(),
            "vectors_path": vectors_path,
            "vectors_format": vector_format,
            "pretrained": options.pretrained,
        }
        embedding_matrix.write_embedding_matrix(output, matrix, vocabulary, report, graph.uri)
        logger.info(
            f"EmbeddingAligner done in {time.monotonic() - started:.1f} s: matrix {matrix.shape[0]} x "
            f"{matrix.shape[1]} -> {output.uri}; {coverage.summary()}"
            + ("" if options.pretrained else "; embedding.pretrained false: every word row is random")
        )


def embedding_text_splits(examples: types.Artifact) -> list[str]:
    """The splits of ``features.EMBEDDING_TEXT_SPLITS`` that the Examples artifact has."""
    available = artifact_utils.decode_split_names(examples.split_names)
    splits = [split for split in features.EMBEDDING_TEXT_SPLITS if split in available]
    if not splits:
        raise ValueError(
            f"Word2Vec needs at least one of the splits {list(features.EMBEDDING_TEXT_SPLITS)}; "
            f"the examples at {examples.uri} have {available}"
        )
    return splits


def vector_file(uri: str, requested: str) -> tuple[str, str]:
    """The word-vector file of an EmbeddingVectors artifact and its format.

    The Word2Vec step's output is a directory holding word2vec text; an imported
    file is the URI itself, in the ``requested`` format (detected when ``auto``).
    """
    if tf.io.gfile.isdir(uri):
        return embedding_vectors.vectors_path(uri), vector_files.WORD2VEC
    return uri, vector_files.detect_format(uri) if requested == vector_files.AUTO_FORMAT else requested
