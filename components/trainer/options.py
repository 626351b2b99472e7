"""Options of the Trainer step."""

import enum
from typing import Self

from pydantic import Field, field_validator, model_validator

from components.options import Bool, Epochs, Float, Int, Options, Seed, Share


class Architecture(enum.StrEnum):
    """The deep branch over the token embeddings."""

    BAG = "bag"
    CNN = "cnn"


class EmbeddingTraining(enum.StrEnum):
    """How the injected embedding matrix is trained."""

    FROZEN = "frozen"
    FINE_TUNE = "fine_tune"
    FROZEN_THEN_FINE_TUNE = "frozen_then_fine_tune"


class TrainerOptions(Options):
    """The Keras classifier and how it is fitted."""

    SECTION = "trainer"

    architecture: Architecture = Field(
        Architecture.BAG,
        description="bag (masked average of the token embeddings, then a hidden layer) or cnn (convolutions of "
        "several widths with global max pooling).",
    )
    embedding_training: EmbeddingTraining = Field(
        EmbeddingTraining.FINE_TUNE,
        description="fine_tune (the injected matrix trains with the rest of the model), frozen (it never "
        "changes) or frozen_then_fine_tune (frozen for unfreeze_after_epochs epochs while the layers above it "
        "settle, then fine-tuned at fine_tune_learning_rate, so large early gradients do not wreck the "
        "pretrained vectors).",
    )
    unfreeze_after_epochs: Epochs = Field(
        1, description="Frozen epochs of frozen_then_fine_tune; must be less than epochs."
    )
    fine_tune_learning_rate: Float = Field(
        3e-4,
        ge=1e-7,
        le=1.0,
        description="Adam learning rate once the embeddings are unfrozen in frozen_then_fine_tune (usually "
        "well below learning_rate).",
    )
    epochs: Epochs = Field(2, description="Maximum epochs; early stopping on the eval split may stop sooner.")
    early_stopping_patience: Int = Field(
        1,
        ge=0,
        le=1_000,
        description="Epochs without eval-loss improvement before stopping (the best weights are kept); 0 "
        "disables early stopping.",
    )
    batch_size: Int = Field(128, ge=1, le=65_536, description="Examples per step.")
    learning_rate: Float = Field(4.5e-3, ge=1e-6, le=1.0, description="Adam learning rate.")
    dropout: Float = Field(
        0.3, ge=0.0, le=0.95, description="Dropout rate on embeddings and before the output layer."
    )
    hidden_units: Int = Field(64, ge=1, le=100_000, description="Width of the hidden layer of bag.")
    conv_filters: Int = Field(64, ge=1, le=100_000, description="Filters per convolution width of cnn.")
    conv_widths: tuple[Int, ...] = Field(
        (3, 4, 5),
        description="Convolution widths of cnn, each once; the widest at most transform.max_length.",
    )
    use_embeddings: Bool = Field(
        True,
        description="Build the deep branch over the token embeddings (the injected matrix). false leaves the "
        "wide branch alone (needs use_ngrams and n-grams from the Transform): the model then has no embedding "
        "layer, and no embedding files are written with it.",
    )
    use_ngrams: Bool = Field(
        True,
        description="Add the wide branch over the review's bag of n-grams (Naive Bayes-weighted logistic "
        "regression) when the Transform output has ngram_ids.",
    )
    ngram_min_frequency: Int = Field(
        4,
        ge=1,
        description="N-gram ids held by fewer train reviews than this get no weight (their Naive Bayes ratio is "
        "0, and they do not count in the review's norm). Ids are hash buckets, and rare n-grams share them: over "
        "the full train split, many ids held by 2 or 3 reviews are n-grams seen once that landed in one bucket.",
    )
    ngram_l2: Share = Field(0.0, description="L2 penalty on the wide branch's weights.")
    ngram_learning_rate_factor: Float = Field(
        10.0,
        ge=0.01,
        le=1000.0,
        description="How many times faster than the rest of the model the wide branch's weights learn.",
    )
    seed: Seed = Field(42, description="Seed for weight initialisation, dropout and shuffling.")
    warm_start: Bool = Field(
        False,
        description="Start from the served model (the latest pushed one, trained on other data): every weight "
        "whose shape did not change is copied; embedding rows are copied by word, so a new span's vocabulary "
        "keeps the trained rows of the words it shares; the n-gram weights only with the same ngram_buckets; a layer "
        "is copied whole or not at all. Without a pushed model the Trainer starts from scratch.",
    )

    @field_validator("conv_widths", mode="before")
    @classmethod
    def _a_list(cls, value: object) -> object:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{{name}} must be a list, got {value!r}")
        return value

    @field_validator("conv_widths")
    @classmethod
    def _widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or not all(1 <= width <= 100 for width in value):
            raise ValueError(
                f"{{name}} must be a non-empty list of widths between 1 and 100, got {list(value)}"
            )
        if len(set(value)) < len(value):  # layers are named by width (conv3): a warm start finds them by name
            raise ValueError(
                f"{{name}} must not repeat a width, got {list(value)} (each width is one convolution of "
                "trainer.conv_filters filters: raise that for more)"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.use_embeddings and not self.use_ngrams:
            raise ValueError(
                "trainer.use_embeddings and trainer.use_ngrams are both false: the model needs at least one branch"
            )
        if not self.use_embeddings and self.embedding_training == EmbeddingTraining.FROZEN_THEN_FINE_TUNE:
            # fine_tune and frozen only say what the absent embedding layer would do; this one unfreezes it.
            raise ValueError(
                "trainer.embedding_training frozen_then_fine_tune unfreezes the embedding layer, and with "
                "trainer.use_embeddings false the model has none; set trainer.embedding_training fine_tune, "
                "or trainer.use_embeddings true"
            )
        if (
            self.embedding_training == EmbeddingTraining.FROZEN_THEN_FINE_TUNE
            and self.unfreeze_after_epochs >= self.epochs
        ):
            raise ValueError(
                f"trainer.unfreeze_after_epochs must be less than trainer.epochs ({self.epochs}) with "
                f"trainer.embedding_training {self.embedding_training}, got {self.unfreeze_after_epochs}"
            )
        return self
