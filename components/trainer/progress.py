"""Progress within training epochs: a bar per epoch on a terminal, periodic lines otherwise.

The Trainer logs one line per finished epoch; on the full dataset an epoch of
a convolutional model takes minutes, so this callback shows how far into the
epoch training is, with the running loss and accuracy.
"""

from __future__ import annotations

import logging

import tf_keras as keras

from components.progress import DEFAULT_INTERVAL, Progress

logger = logging.getLogger(__name__)

# Running figures shown beside the batch count, when Keras reports them.
_SHOWN = ("loss", "accuracy")


def describe_logs(logs: dict | None) -> str:
    """``loss 0.4123, accuracy 0.8120`` from Keras batch logs."""
    logs = logs or {}
    return ", ".join(f"{name} {float(logs[name]):.4f}" for name in _SHOWN if name in logs)


class TrainingProgress(keras.callbacks.Callback):
    """Shows the batches of each epoch as they are trained.

    The number of batches per epoch is unknown to Keras for a TFRecord dataset
    until one epoch has run; the first epoch shows a count, later ones a
    percentage.

    Args:
        terminal: Bar or plain lines; default: whether stderr is a terminal.
        interval: Seconds between plain lines.
    """

    def __init__(self, terminal: bool | None = None, interval: float = DEFAULT_INTERVAL):
        super().__init__()
        self._terminal = terminal
        self._interval = interval
        self._steps: int | None = None
        self._progress: Progress | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self._steps = self.params.get("steps") or self._steps
        self._progress = Progress(
            f"Trainer: epoch {epoch + 1}/{self.params.get('epochs', '?')}",
            total=self._steps,
            unit="batches",
            interval=self._interval,
            terminal=self._terminal,
            log=logger,
        )

    def on_train_batch_end(self, batch, logs=None):
        if self._progress is not None:
            self._progress.update_to(batch + 1, describe_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self._progress is not None:
            self._steps = int(self._progress.count) or self._steps
            self._progress.close()
            self._progress = None

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.close()
            self._progress = None
