"""Which model the candidate is compared with: the served model (the highest version TF Serving serves), not the candidate."""

from tfx import types
from tfx.dsl.components.common import resolver

from components.served_model import served_model_resolver


def create_baseline_resolver(
    candidate: types.BaseChannel | None, serving_model_dir: str
) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Evaluator's baseline; ``candidate``: this run's model."""
    return served_model_resolver("baseline_model_resolver", "candidate", candidate, serving_model_dir)
