"""Trainer executor: fits the classifier and exports the serving SavedModel."""

import json
import logging
import os
import time
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.embeddings import align, projector
from components.embeddings import executor as embedding_executor
from components.trainer import data, export, model, naive_bayes, progress
from components.trainer.options import TrainerOptions
from schemas import features

logger = logging.getLogger(__name__)

HISTORY_FILE = "history.json"


class EmbeddingMismatchError(ValueError):
    """The embedding matrix was built for another vocabulary than the one trained with."""


def load_embedding_matrix(embedding: types.Artifact, vocabulary: list[str]) -> np.ndarray:
    """Loads the aligned matrix, refusing one built for a different vocabulary."""
    expected = align.vocabulary_fingerprint(vocabulary)
    recorded = embedding.get_string_custom_property(embedding_executor.VOCABULARY_SHA256_PROPERTY)
    if recorded != expected:
        built_from = (
            embedding.get_string_custom_property(embedding_executor.TRANSFORM_GRAPH_URI_PROPERTY)
            or "an unknown transform output"
        )
        raise EmbeddingMismatchError(
            f"the embedding matrix at {embedding.uri} was built for another vocabulary "
            f"(from {built_from}; sha256 {recorded[:12] or 'missing'} != {expected[:12]}); "
            "re-run the embedding step on this transform output"
        )
    matrix, _ = embedding_executor.read_embedding_matrix(embedding.uri)
    if matrix.shape[0] != len(vocabulary):
        raise EmbeddingMismatchError(
            f"the embedding matrix has {matrix.shape[0]} rows; the vocabulary has {len(vocabulary)}"
        )
    return matrix


class Executor(base_executor.BaseExecutor):
    """Reads transform output and embedding matrix, fits, exports model and embeddings."""

    def Do(
        self,
        input_dict: dict[str, list[types.Artifact]],
        output_dict: dict[str, list[types.Artifact]],
        exec_properties: dict[str, Any],
    ) -> None:
        options = TrainerOptions.from_json(exec_properties["options"])
        transformed = artifact_utils.get_single_instance(input_dict["examples"])
        tft_output = tft.TFTransformOutput(artifact_utils.get_single_uri(input_dict["transform_graph"]))
        embedding = artifact_utils.get_single_instance(input_dict["embedding"])
        model_uri = artifact_utils.get_single_uri(output_dict["model"])
        model_run_uri = artifact_utils.get_single_uri(output_dict["model_run"])

        vocabulary = [
            token.decode("utf-8") for token in tft_output.vocabulary_by_name(features.VOCABULARY_NAME)
        ]
        matrix = load_embedding_matrix(embedding, vocabulary)
        transformed_spec = tft_output.transformed_feature_spec()
        sequence_length = transformed_spec[features.TOKEN_IDS].shape[0]
        feature_spec = data.model_feature_spec(transformed_spec, options.use_ngrams)

        train = data.make_dataset(
            artifact_utils.get_split_uri([transformed], features.TRAIN),
            feature_spec,
            options.batch_size,
            shuffle=True,
            seed=options.seed,
        )
        evaluation = data.make_dataset(
            artifact_utils.get_split_uri([transformed], features.EVAL),
            feature_spec,
            options.batch_size,
            shuffle=False,
            seed=options.seed,
        )
        ngram_ratios = None
        if features.NGRAM_IDS in feature_spec:
            ngram_ids = tft_output.num_buckets_for_transformed_feature(features.NGRAM_IDS)
            ngram_ratios = naive_bayes.naive_bayes_log_ratios(
                ((inputs[features.NGRAM_IDS], labels) for inputs, labels in train),
                ngram_ids,
                min_frequency=options.ngram_min_frequency,
            )
            logger.info(
                "Trainer: n-gram branch over %d n-gram ids, %d held by at least %d train reviews "
                "(Naive Bayes log-count ratios from the train split)",
                ngram_ids,
                np.count_nonzero(ngram_ratios),
                options.ngram_min_frequency,
            )
        classifier = model.build_model(len(vocabulary), sequence_length, matrix, options, ngram_ratios)
        logger.info(
            "Trainer: %s model, vocabulary %d x %d (embeddings %s), sequences of %d, up to %d epochs",
            options.architecture + (" + n-grams" if ngram_ratios is not None else ""),
            len(vocabulary),
            matrix.shape[1],
            model.describe_embedding_training(options),
            sequence_length,
            options.epochs,
        )
        callbacks: list[keras.callbacks.Callback] = [
            keras.callbacks.TensorBoard(log_dir=model_run_uri),
            progress.TrainingProgress(options.epochs, epoch_log=logger),
        ]
        started = time.monotonic()
        # Early stopping, and unfreezing for frozen_then_fine_tune, happen in fit_model.
        history = model.fit_model(classifier, train, evaluation, options, callbacks)
        with tf.io.gfile.GFile(os.path.join(model_run_uri, HISTORY_FILE), "w") as f:
            json.dump(
                {key: [float(v) for v in values] for key, values in history.history.items()}, f, indent=2
            )

        serving_dir = path_utils.serving_model_dir(model_uri)
        export.export_serving_model(classifier, tft_output, serving_dir)
        projector.write_embedding_artifacts(
            os.path.join(serving_dir, projector.EMBEDDINGS_DIR),
            vocabulary,
            trained=model.embedding_weights(classifier),
            injected=matrix,
        )
        # With early stopping the weights kept are those of the best eval-loss epoch.
        kept = (
            int(np.argmin(history.history["val_loss"]))
            if options.early_stopping_patience
            else len(history.epoch) - 1
        )
        logger.info(
            "Trainer done in %.1f s: %d epochs run, weights of epoch %d kept (eval accuracy %.4f, eval AUC %.4f); "
            "SavedModel at %s",
            time.monotonic() - started,
            len(history.epoch),
            kept + 1,
            history.history["val_accuracy"][kept],
            history.history["val_auc"][kept],
            serving_dir,
        )
