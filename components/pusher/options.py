"""Options of the Pusher step."""

from pydantic import Field

from components.options import Int, Options


class PushOptions(Options):
    """What the serving directory keeps."""

    SECTION = "push"

    keep_versions: Int = Field(
        5,
        ge=1,
        le=10_000,
        description="Pushed versions kept under the model directory; older ones are deleted after a successful "
        "push. The newest version (the one being served) is always kept.",
    )
