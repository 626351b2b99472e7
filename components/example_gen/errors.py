"""The two kinds of bad input: one that stops the run, and one record that is set aside."""

from collections.abc import Iterator
import contextlib
import logging


class ImdbDataError(ValueError):
    """The input is not a usable copy of the IMDb dataset; the run stops and the message names the file."""


class BadRecordError(ImdbDataError):
    """One review record cannot be used; it is set aside in the quarantine and the run goes on.

    ``reason`` (one of ``quarantine.REASONS``) and ``problem`` are the quarantine line's ``reason``
    and ``detail``; ``where`` names the file or archive member in the message.
    """

    def __init__(self, reason: str, where: str, problem: str):
        super().__init__(f"{where}: {problem}")
        self.reason = reason
        self.where = where
        self.problem = problem

    def __reduce__(self):
        # Beam may pickle exceptions between workers; the default would call __init__ with the message only.
        return type(self), (self.reason, self.where, self.problem)


class ImdbArchiveError(ImdbDataError):
    """An archive cannot be read to its end (truncated, corrupt, or not an archive): none of it is used."""


def error_in(error: BaseException, kinds: tuple[type[Exception], ...]) -> Exception | None:
    """The first of ``error`` and its causes that is one of ``kinds``, its message without Beam's context.

    A runner re-raises a worker's exception with the step's name in its message, or wraps it in
    another; the user is told of the input problem itself. None when the chain holds none of ``kinds``.
    """
    seen = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kinds):
            try:
                # Without what Beam appends to a worker's exception: `` [while running 'Step']``.
                return type(current)(str(current).split(" [while running", 1)[0].strip())
            except TypeError:  # one not made from its message alone (BadRecordError): as it is
                return current
        current = current.__cause__ or current.__context__
    return None


@contextlib.contextmanager
def beam_logs_without(kinds: tuple[type[Exception], ...]) -> Iterator[None]:
    """Keeps Beam's log line of a worker's exception of ``kinds`` out, while the block runs.

    Beam logs the exception (with its step's name) before re-raising it; the caller reports it
    once, with :func:`error_in`'s message, so the user does not read it twice.
    """

    def keep(record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, kinds) and not isinstance(record.msg, kinds)

    beam_logger = logging.getLogger("apache_beam.runners.common")
    beam_logger.addFilter(keep)
    try:
        yield
    finally:
        beam_logger.removeFilter(keep)
