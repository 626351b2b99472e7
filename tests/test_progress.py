"""Progress of long steps: plain lines off a terminal, a bar on one; Keras and gensim callbacks."""

import functools
import io
import logging
import re

import tqdm

from components.embeddings.word2vec import EpochProgress
from components.loop_progress import Progress
from components.trainer.epoch_progress import TrainingProgress

LOGGER = "tests.progress"


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _messages(caplog, name: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == name]


def test_plain_progress_logs_at_most_once_per_interval_with_share_and_elapsed_time(caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    with Progress(
        "ExampleGen: reading x.tar.gz",
        total=4_000_000,
        unit="B",
        interval=10,
        terminal=False,
        log=logging.getLogger(LOGGER),
        clock=clock,
    ) as progress:
        clock.now += 4
        progress.update_to(1_000_000)  # 4 s since the start: too early for a line
        clock.now += 8
        progress.update_to(2_500_000)
        clock.now += 3
        progress.update_to(3_000_000)  # 3 s after the last line
    assert _messages(caplog, LOGGER) == ["ExampleGen: reading x.tar.gz: 62% (2.5 MB of 4.0 MB, 12 s)"]


def test_plain_progress_without_a_total_shows_the_count_and_rate(caplog):
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    progress = Progress(
        "reading", unit="files", interval=0, terminal=False, log=logging.getLogger(LOGGER), clock=clock
    )
    clock.now += 2
    progress.update(3000, postfix="last file 0_9.txt")
    assert _messages(caplog, LOGGER) == ["reading: 3,000 files (1,500 files/s, 2 s), last file 0_9.txt"]


def test_terminal_progress_draws_a_bar_and_logs_nothing(caplog, monkeypatch):
    caplog.set_level(logging.INFO)
    # Redraw on every update: by default tqdm redraws at most every 0.1 s (mininterval), which
    # only a sleep could wait out, and a loaded machine makes any sleep a race.
    monkeypatch.setattr(tqdm, "tqdm", functools.partial(tqdm.tqdm, mininterval=0))
    stream = io.StringIO()
    with Progress(
        "word2vec", total=5, unit="epochs", terminal=True, log=logging.getLogger(LOGGER), stream=stream
    ) as progress:
        progress.update(2, "last epoch 1.0 s")
        drawn = stream.getvalue()
    assert "word2vec:  40%" in drawn
    assert "2/5" in drawn
    assert "last epoch 1.0 s" in drawn
    assert _messages(caplog, LOGGER) == []


class _FakeModel:
    """The little of a Keras model a callback touches."""

    stop_training = False


def test_training_progress_reports_batches_with_the_running_loss_and_learns_the_epoch_length(caplog):
    caplog.set_level(logging.INFO)
    callback = TrainingProgress(terminal=False, interval=0)
    callback.set_params({"epochs": 2, "steps": None, "verbose": 0})
    callback.set_model(_FakeModel())
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for batch in range(3):
            callback.on_train_batch_end(batch, {"loss": 0.5 - 0.1 * batch, "accuracy": 0.7, "auc": 0.8})
        callback.on_epoch_end(epoch, {})
    lines = _messages(caplog, "components.trainer.epoch_progress")
    expected = [
        # First epoch: Keras does not know its length yet, so a count and a rate.
        r"Trainer: epoch 1/2: 1 batches \([\d,]+ batches/s, \d+ s\), loss 0\.5000, accuracy 0\.7000",
        r"Trainer: epoch 1/2: 2 batches \([\d,]+ batches/s, \d+ s\), loss 0\.4000, accuracy 0\.7000",
        r"Trainer: epoch 1/2: 3 batches \([\d,]+ batches/s, \d+ s\), loss 0\.3000, accuracy 0\.7000",
        r"Trainer: epoch 2/2: 33% \(1/3 batches, \d+ s\), loss 0\.5000, accuracy 0\.7000",
        r"Trainer: epoch 2/2: 67% \(2/3 batches, \d+ s\), loss 0\.4000, accuracy 0\.7000",
        r"Trainer: epoch 2/2: 100% \(3/3 batches, \d+ s\), loss 0\.3000, accuracy 0\.7000",
    ]
    assert len(lines) == len(expected)
    for line, pattern in zip(lines, expected, strict=True):
        assert re.fullmatch(pattern, line), line


def test_word2vec_epoch_progress_logs_every_epoch(caplog):
    caplog.set_level(logging.INFO)
    callback = EpochProgress(epochs=3, terminal=False)
    callback.on_train_begin(None)
    for _ in range(3):
        callback.on_epoch_begin(None)
        callback.on_epoch_end(None)
    callback.on_train_end(None)
    lines = _messages(caplog, "components.embeddings.word2vec")
    assert len(lines) == 3
    for line, done in zip(lines, ("33% (1/3", "67% (2/3", "100% (3/3"), strict=True):
        assert re.fullmatch(rf"word2vec: {re.escape(done)} epochs, \d+ s\), last epoch \d+\.\d s", line), line
