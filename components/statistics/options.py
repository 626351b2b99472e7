"""Options of the DriftCheck step: how far statistics may move, and what happens when they do."""

import enum

from pydantic import Field

from components.artifacts.drift_anomalies import LABEL, LENGTH, OOV
from components.options import Int, Options, Share


class DriftAction(enum.StrEnum):
    """What a comparison over its threshold does."""

    STOP = "stop"  # fail the run before the Trainer: nothing is trained or pushed
    WARN = "warn"  # log it, record it in the anomalies artifact and the run summary, go on


class DriftOptions(Options):
    """Thresholds of the drift check (span against the previous span, train against test)."""

    SECTION = "drift"

    max_label_distance: Share = Field(
        0.1,
        description="Largest L-infinity distance between two label distributions (the largest change in the "
        "share of a label), as TFDV's drift comparator measures it.",
    )
    label_action: DriftAction = Field(
        DriftAction.STOP, description="stop or warn when the label balance moves more."
    )
    max_length_divergence: Share = Field(
        0.1,
        description="Largest Jensen-Shannon divergence (base 2) between two distributions of review length in "
        "tokens (buckets of 25 tokens).",
    )
    length_action: DriftAction = Field(
        DriftAction.STOP, description="stop or warn when review lengths move more."
    )
    max_oov_change: Share = Field(
        0.05,
        description="Largest change in the share of tokens outside the Transform's vocabulary.",
    )
    oov_action: DriftAction = Field(
        DriftAction.WARN, description="stop or warn when the out-of-vocabulary share moves more."
    )

    min_examples: Int = Field(
        500,
        ge=1,
        le=1_000_000_000,
        description="Fewest examples on each side for two splits to be compared: below it the difference is "
        "mostly sampling noise (at 500 reviews a side, a label-balance change of 0.1 is over 3 standard errors), "
        "so the comparison is skipped and logged, never a stop.",
    )

    def thresholds(self) -> dict[str, float]:
        return {LABEL: self.max_label_distance, LENGTH: self.max_length_divergence, OOV: self.max_oov_change}

    def action(self, check: str) -> DriftAction:
        return {LABEL: self.label_action, LENGTH: self.length_action, OOV: self.oov_action}[check]
