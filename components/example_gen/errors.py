"""The two kinds of bad input: one that stops the run, and one record that is set aside."""


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
