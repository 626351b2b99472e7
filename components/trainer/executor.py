"""Trainer executor: fits the classifier and exports the serving SavedModel."""

import logging
import time

import numpy as np
import tensorflow_transform as tft
import tf_keras as keras
from tfx import types
from tfx.dsl.components.base import base_executor
from tfx.types import artifact_utils, standard_component_specs

from components.artifacts import embedding_matrix, transform_graph
from components.artifacts import model as model_artifact
from components.component_spec import Artifacts, Properties
from components.plural import counted
from components.trainer import dataset, epoch_progress, export, model, naive_bayes, warm_start
from components.trainer.options import TrainerOptions
from schemas import features

logger = logging.getLogger(__name__)


class Executor(base_executor.BaseExecutor):
    """Reads transform output and embedding matrix, fits, exports model and embeddings."""

    def Do(self, input_dict: Artifacts, output_dict: Artifacts, exec_properties: Properties) -> None:
        options = TrainerOptions.from_exec_properties(exec_properties)
        transformed = artifact_utils.get_single_instance(input_dict["examples"])
        tft_output = tft.TFTransformOutput(artifact_utils.get_single_uri(input_dict["transform_graph"]))
        embedding = artifact_utils.get_single_instance(input_dict["embedding"])
        model_uri = artifact_utils.get_single_uri(output_dict["model"])
        model_run_uri = artifact_utils.get_single_uri(output_dict["model_run"])

        vocabulary = transform_graph.vocabulary(tft_output)
        matrix = embedding_matrix.load_checked(embedding, vocabulary)
        transformed_spec = tft_output.transformed_feature_spec()
        sequence_length = transformed_spec[features.TOKEN_IDS].shape[0]
        feature_spec = dataset.model_feature_spec(transformed_spec, options.use_ngrams)

        train, evaluation = (
            dataset.make_dataset(
                artifact_utils.get_split_uri([transformed], split),
                feature_spec,
                options.batch_size,
                shuffle=split == features.TRAIN,
                seed=options.seed,
            )
            for split in (features.TRAIN, features.EVAL)
        )
        ngram_ratios = None
        if features.NGRAM_IDS in feature_spec:
            ngram_ids = tft_output.num_buckets_for_transformed_feature(features.NGRAM_IDS)
            ngram_ratios = naive_bayes.naive_bayes_log_ratios(
                ((inputs[features.NGRAM_IDS], labels) for inputs, labels in train),
                ngram_ids,
                min_frequency=options.ngram_min_frequency,
            )
            if not options.use_embeddings:
                naive_bayes.require_weighted_ids(ngram_ratios, options.ngram_min_frequency)
            logger.info(
                "Trainer: n-gram branch over %d n-gram ids, %d held by at least %d train reviews "
                "(Naive Bayes log-count ratios from the train split)",
                ngram_ids,
                np.count_nonzero(ngram_ratios),
                options.ngram_min_frequency,
            )
        classifier = model.build_model(len(vocabulary), sequence_length, matrix, options, ngram_ratios)
        logger.info(
            "Trainer: %s model, %s, up to %s",
            options.architecture + (" + n-grams" if ngram_ratios is not None else "")
            if options.use_embeddings
            else "n-grams only (no embedding branch)",
            f"vocabulary {len(vocabulary)} x {matrix.shape[1]} (embeddings "
            f"{model.describe_embedding_training(options)}), sequences of {sequence_length}"
            if options.use_embeddings
            else counted(len(ngram_ratios), "n-gram id"),
            counted(options.epochs, "epoch"),
        )
        injected = matrix
        if options.warm_start:
            record = warm_start_from(
                classifier, input_dict.get(standard_component_specs.BASE_MODEL_KEY, []), vocabulary
            )
            model_artifact.write_warm_start(model_run_uri, record)
            if record["model_uri"] is not None and options.use_embeddings:
                # What training starts from: the aligned matrix with the shared words' trained rows.
                injected = model.embedding_weights(classifier)
        callbacks: list[keras.callbacks.Callback] = [
            model.PhasedTensorBoard(model_run_uri),
            epoch_progress.TrainingProgress(options.epochs, epoch_log=logger),
        ]
        started = time.monotonic()
        history = model.fit_model(classifier, train, evaluation, options, callbacks)
        model_artifact.write_history(model_run_uri, history.history)

        serving_dir = model_artifact.serving_model_dir(model_uri)
        export.export_serving_model(classifier, tft_output, serving_dir)
        if options.use_embeddings:  # a wide-only model has no embeddings to publish
            model_artifact.write_embedding_artifacts(
                model_artifact.embeddings_dir(model_uri),
                vocabulary,
                trained=model.embedding_weights(classifier),
                injected=injected,
            )
        # With early stopping the weights kept are those of the best eval-loss epoch.
        kept = (
            int(np.argmin(history.history["val_loss"]))
            if options.early_stopping_patience
            else len(history.epoch) - 1
        )
        logger.info(
            "Trainer done in %.1f s: %s run, weights of epoch %d kept (eval accuracy %.4f, eval AUC %.4f); "
            "SavedModel at %s",
            time.monotonic() - started,
            counted(len(history.epoch), "epoch"),
            kept + 1,
            history.history["val_accuracy"][kept],
            history.history["val_auc"][kept],
            serving_dir,
        )


class WarmStartError(RuntimeError):
    """The earlier model a warm start reads is missing or damaged."""


def warm_start_from(
    classifier: keras.Model, base_models: list[types.Artifact], vocabulary: list[str]
) -> dict:
    """Sets the freshly built ``classifier``'s weights from the earlier model in ``base_models``, if any.

    Returns the record for ``warm_start.json``: the earlier model (``model_uri``
    None when there was none) and what was copied from it.
    """
    if not base_models:
        logger.info(
            "Trainer: warm start asked for, but no model has been pushed yet (or only models trained on "
            "these examples): training from scratch"
        )
        return {"model_uri": None, "model_id": None}
    base = base_models[0]
    weights = classifier.weights
    names = [weight.name for weight in weights]
    if len(set(names)) != len(names):
        raise ValueError(
            f"the model's weight names are not unique, so weights cannot be matched by name: {names}"
        )
    fixed = {name for name in names if name.startswith(f"{model.NGRAM_LAYER}/{naive_bayes.RATIOS_WEIGHT}")}
    # A model without the embedding branch (trainer.use_embeddings false) has no embedding, nor its vocabulary.
    embedding = next((w.name for w in weights if w.name.startswith(f"{model.EMBEDDING_LAYER}/")), None)
    try:
        base_weights = model_artifact.read_weights(base.uri)
        has_rows = embedding is not None and embedding in base_weights
        base_vocabulary = model_artifact.read_model_vocabulary(base.uri) if has_rows else []
    except Exception as error:  # a damaged or removed SavedModel fails in many ways, none naming it
        raise WarmStartError(
            f"warm start: cannot read the model to start from, {base.uri} (Model artifact {base.id}, the "
            f"served model): {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''} "
            "(restore that folder, or run with --trainer.warm_start false)"
        ) from error
    initial, summary = warm_start.warm_start_weights(
        {weight.name: weight.numpy() for weight in weights},
        base_weights,
        base_vocabulary,
        vocabulary,
        embedding=embedding,
        fixed=fixed,
        stacked=[
            layer.name
            for layer in classifier.layers
            if layer.weights and layer.name not in (model.EMBEDDING_LAYER, model.NGRAM_LAYER)
        ],
    )
    for weight in weights:
        weight.assign(initial[weight.name])
    if summary.shared_words is None:  # no embedding: no row to copy, no vocabulary to compare
        words = "no embedding branch"
    else:
        copied_rows = (
            f"embedding rows of {counted(summary.copied_rows, 'shared word')} copied by word, "
            f"{counted(summary.new_words, 'new word')} from the aligned matrix"
            if summary.copied_rows
            else f"no embedding row copied: every row from the aligned matrix ({counted(summary.shared_words, 'word')} shared)"
        )
        words = (
            f"{'same' if summary.same_vocabulary else 'new'} vocabulary; {copied_rows} "
            f"({counted(summary.dropped_words, 'word')} of the earlier vocabulary dropped)"
        )
    logger.info(
        "Trainer: warm start from %s: %s; copied: %s%s",
        base.uri,
        words,
        ", ".join(summary.copied) or "nothing",
        "".join(f"; fresh: {name} ({why})" for name, why in summary.fresh.items()),
    )
    return {"model_uri": base.uri, "model_id": base.id, **summary.to_dict()}
