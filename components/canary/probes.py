"""The canary's probes (raw bytes): inputs a served model must survive, and two it must get right."""

import dataclasses

POSITIVE = "positive"
NEGATIVE = "negative"
# A clear review must land on its side of this probability.
DECISION_THRESHOLD = 0.5
# Bytes of the long probe: a 100 kB review.
LONG_REVIEW_BYTES = 100_000


@dataclasses.dataclass(frozen=True)
class Probe:
    """One canary input; ``expected`` is None when only a finite probability in [0, 1] is required."""

    name: str
    text: bytes
    expected: str | None = None


_SENTENCE = b"The plot wanders from one scene to the next, and the cast does what it can with it. "
PROBES: tuple[Probe, ...] = (
    Probe("empty", b""),
    Probe("whitespace", b" \t\r\n \xc2\xa0 "),
    Probe("html_only", b"<br /><br /><br />"),
    Probe("punctuation_only", b"!!! ... ??? -- ;;"),
    Probe(
        "non_latin",
        "\u8fd9\u90e8\u7535\u5f71\u5f88\u7cbe\u5f69\u3002 \u042d\u0442\u043e "
        "\u0444\u0438\u043b\u044c\u043c. \u0641\u064a\u0644\u0645 \u0631\u0627\u0626\u0639. "
        "\u092b\u093f\u0932\u094d\u092e \U0001f3ac".encode(),
    ),
    Probe("invalid_utf8", b"a \xff\xfe film \xc3\x28 with \xed\xa0\x80 broken bytes \x80"),
    Probe("long_review", (_SENTENCE * (LONG_REVIEW_BYTES // len(_SENTENCE) + 1))[:LONG_REVIEW_BYTES]),
    Probe(
        "clear_positive",
        b"A wonderful, moving masterpiece. The acting is brilliant, the story is beautiful and the "
        b"ending is perfect. One of the best films I have ever seen; I loved every minute of it.",
        POSITIVE,
    ),
    Probe(
        "clear_negative",
        b"An awful, boring waste of time. The acting is terrible, the plot is stupid and the dialogue "
        b"is painful. One of the worst films I have ever seen; avoid it.",
        NEGATIVE,
    ),
)
