"""Options of the Trainer step."""

import dataclasses

from components.options import Options, OptionsError

ARCHITECTURES = ("bag", "cnn")
# How the injected embedding matrix is trained.
FROZEN = "frozen"
FINE_TUNE = "fine_tune"
FROZEN_THEN_FINE_TUNE = "frozen_then_fine_tune"
EMBEDDING_TRAINING = (FROZEN, FINE_TUNE, FROZEN_THEN_FINE_TUNE)


@dataclasses.dataclass(frozen=True)
class TrainerOptions(Options):
    """The Keras classifier and how it is fitted.

    Attributes:
        architecture: ``bag`` (masked average of the token embeddings, then a
            hidden layer) or ``cnn`` (convolutions of several widths with global
            max pooling).
        embedding_training: ``fine_tune`` (the injected matrix trains with the
            rest of the model), ``frozen`` (it never changes) or
            ``frozen_then_fine_tune`` (frozen for ``unfreeze_after_epochs``
            epochs while the layers above it settle, then fine-tuned at
            ``fine_tune_learning_rate``, so large early gradients do not wreck
            the pretrained vectors).
        unfreeze_after_epochs: Frozen epochs of ``frozen_then_fine_tune``; must
            be less than ``epochs``.
        fine_tune_learning_rate: Adam learning rate once the embeddings are
            unfrozen in ``frozen_then_fine_tune`` (usually well below
            ``learning_rate``).
        epochs: Maximum epochs; early stopping on the eval split may stop sooner.
        early_stopping_patience: Epochs without eval-loss improvement before
            stopping (the best weights are kept); 0 disables early stopping.
        batch_size: Examples per step.
        learning_rate: Adam learning rate.
        dropout: Dropout rate on embeddings and before the output layer.
        hidden_units: Width of the hidden layer of ``bag``.
        conv_filters: Filters per convolution width of ``cnn``.
        conv_widths: Convolution widths of ``cnn``.
        use_ngrams: Add the wide branch over the review's bag of n-grams
            (Naive Bayes-weighted logistic regression) when the Transform output
            has ``ngram_ids``.
        ngram_min_frequency: N-gram ids held by fewer train reviews than this
            get no weight (their Naive Bayes ratio is 0, and they do not count
            in the review's norm). Ids are hash buckets, and rare n-grams
            share them: over the full train split, many ids held by 2 or 3
            reviews are n-grams seen once that landed in one bucket.
        ngram_l2: L2 penalty on the wide branch's weights.
        ngram_learning_rate_factor: How many times faster than the rest of the
            model the wide branch's weights learn.
        seed: Seed for weight initialisation, dropout and shuffling.
    """

    SECTION = "trainer"

    architecture: str = "bag"
    embedding_training: str = FINE_TUNE
    unfreeze_after_epochs: int = 2
    fine_tune_learning_rate: float = 3e-4
    epochs: int = 4
    early_stopping_patience: int = 1
    batch_size: int = 64
    learning_rate: float = 3e-3
    dropout: float = 0.3
    hidden_units: int = 64
    conv_filters: int = 64
    conv_widths: tuple[int, ...] = (3, 4, 5)
    use_ngrams: bool = True
    ngram_min_frequency: int = 4
    ngram_l2: float = 0.0
    ngram_learning_rate_factor: float = 10.0
    seed: int = 42

    def validate(self) -> None:
        self.check_choice("architecture", ARCHITECTURES)
        self.check_choice("embedding_training", EMBEDDING_TRAINING)
        self.check_range("epochs", 1, 1_000)
        self.check_range("unfreeze_after_epochs", 1, 1_000)
        self.check_range("fine_tune_learning_rate", 1e-7, 1.0)
        if self.embedding_training == FROZEN_THEN_FINE_TUNE and self.unfreeze_after_epochs >= self.epochs:
            raise OptionsError(
                f"{self._name('unfreeze_after_epochs')} must be less than {self._name('epochs')} "
                f"({self.epochs}) with {self._name('embedding_training')} {FROZEN_THEN_FINE_TUNE}, "
                f"got {self.unfreeze_after_epochs}"
            )
        self.check_range("early_stopping_patience", 0, 1_000)
        self.check_range("batch_size", 1, 65_536)
        self.check_range("learning_rate", 1e-6, 1.0)
        self.check_range("dropout", 0.0, 0.95)
        self.check_range("hidden_units", 1, 100_000)
        self.check_range("conv_filters", 1, 100_000)
        self.check_range("ngram_min_frequency", 1, None)
        self.check_range("ngram_l2", 0.0, 1.0)
        self.check_range("ngram_learning_rate_factor", 0.01, 1000.0)
        if not self.conv_widths or not all(1 <= width <= 100 for width in self.conv_widths):
            raise OptionsError(
                f"{self._name('conv_widths')} must be a non-empty list of widths between 1 and 100, "
                f"got {list(self.conv_widths)}"
            )
