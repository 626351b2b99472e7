"""Which model a warm-started Trainer starts from: the served model, trained on other examples.

Models that a Trainer fitted on this run's transformed examples are left out
(see :mod:`components.served_model`), so a re-run of an unchanged pipeline
starts from the same earlier model and its Trainer is a cache hit; on a new
span (new examples) the served model is always a candidate. The resolved model
is the Trainer's ``base_model`` input, so ML Metadata's lineage records which
model each warm-started model started from.
"""

from tfx import types
from tfx.dsl.components.common import resolver

from components.served_model import served_model_resolver


def create_warm_start_resolver(
    examples: types.BaseChannel | None, serving_model_dir: str
) -> resolver.Resolver:
    """The Resolver node whose ``model`` output is the Trainer's ``base_model``; ``examples``: the Trainer's."""
    return served_model_resolver("warm_start_model_resolver", "examples", examples, serving_model_dir)
