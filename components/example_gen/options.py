"""Options of the ExampleGen step (kept free of heavy imports: the CLI reads them)."""

MIN_EVAL_PERCENT = 1
MAX_EVAL_PERCENT = 50


def validate_eval_percent(eval_percent: int) -> int:
    """Returns ``eval_percent`` if it is a whole number in 1..50, else raises ValueError.

    0 would leave no data to evaluate on, more than half would train on less
    than it evaluates on: both are configuration mistakes.
    """
    if (
        isinstance(eval_percent, bool)
        or not isinstance(eval_percent, int)
        or not MIN_EVAL_PERCENT <= eval_percent <= MAX_EVAL_PERCENT
    ):
        raise ValueError(
            f"eval_percent must be a whole number between {MIN_EVAL_PERCENT} and {MAX_EVAL_PERCENT}, "
            f"got {eval_percent!r}"
        )
    return eval_percent
