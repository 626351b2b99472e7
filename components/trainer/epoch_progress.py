"""Progress of training: a bar per epoch on a terminal, periodic lines otherwise, a line per epoch.

On the full dataset an epoch of a convolutional model takes minutes, so this
callback shows how far into the epoch training is, with the running loss and
accuracy, and when the epoch ends, its time and every metric Keras reports.
"""

from collections.abc import Iterable
import logging
import time

import tf_keras as keras

from components.loop_progress import DEFAULT_INTERVAL, Progress

logger = logging.getLogger(__name__)

# Running figures shown beside the batch count, when Keras reports them.
_SHOWN = ("loss", "accuracy")


def describe_logs(logs: dict | None, names: Iterable[str] | None = _SHOWN) -> str:
    """``loss 0.4123, accuracy 0.8120`` from Keras logs: the figures ``names``, or all (sorted) if None."""
    logs = logs or {}
    shown = sorted(logs) if names is None else [name for name in names if name in logs]
    return ", ".join(f"{name} {float(logs[name]):.4f}" for name in shown)


class TrainingProgress(keras.callbacks.Callback):
    """Shows the batches of each epoch as they are trained, then one line per finished epoch.

    The number of batches per epoch is unknown to Keras for a TFRecord dataset
    until one epoch has run; the first epoch shows a count, later ones a
    percentage. The end-of-epoch line (``Trainer: epoch 2/4 (31.2 s): accuracy
    0.8512, loss ...``) is readable in a terminal and in cron mail alike.

    ``epochs`` (shown as ``epoch i/epochs``) are the whole training's, by default the current ``fit``'s
    (one phase of ``frozen_then_fine_tune`` is shorter than the whole); ``terminal`` (bar or plain
    lines every ``interval`` seconds) defaults to whether stderr is a terminal; ``epoch_log`` logs
    the end-of-epoch lines (the Trainer's own, so they stay where its other lines are), None none.
    """

    def __init__(
        self,
        epochs: int | None = None,
        terminal: bool | None = None,
        interval: float = DEFAULT_INTERVAL,
        epoch_log: logging.Logger | None = None,
    ):
        super().__init__()
        self._epochs = epochs
        self._terminal = terminal
        self._interval = interval
        self._epoch_log = epoch_log
        self._steps: int | None = None
        self._progress: Progress
        self._started = 0.0

    def _label(self, epoch: int) -> str:
        return f"Trainer: epoch {epoch + 1}/{self._epochs or self.params.get('epochs', '?')}"

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()
        self._steps = self.params.get("steps") or self._steps
        self._progress = Progress(
            self._label(epoch),
            total=self._steps,
            unit="batches",
            interval=self._interval,
            terminal=self._terminal,
            log=logger,
        )

    # Keras calls on_epoch_end after every on_epoch_begin, unless an exception ends fit.
    def on_train_batch_end(self, batch, logs=None):
        self._progress.update_to(batch + 1, describe_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        self._steps = int(self._progress.count) or self._steps
        self._progress.close()
        if self._epoch_log is not None:
            self._epoch_log.info(
                "%s (%.1f s): %s",
                self._label(epoch),
                time.monotonic() - self._started,
                describe_logs(logs, names=None),
            )
