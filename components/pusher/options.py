"""Options of the Pusher step."""

import dataclasses

from components.options import Options


@dataclasses.dataclass(frozen=True)
class PushOptions(Options):
    """What the serving directory keeps.

    Attributes:
        keep_versions: Pushed versions kept under the model directory; older
            ones are deleted after a successful push. The newest version (the
            one being served) is always kept.
    """

    SECTION = "push"

    keep_versions: int = 5

    def validate(self) -> None:
        self.check_range("keep_versions", 1, 10_000)
