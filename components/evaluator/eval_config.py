"""The TFMA configuration of the standard TFX Evaluator.

Metrics on the official test split: accuracy, AUC, precision, recall, loss
(binary cross-entropy) and the example count; the blessing thresholds come from
:class:`EvaluationOptions`.
"""

from tensorflow_model_analysis.proto import config_pb2 as tfma

from components.evaluator.options import EvaluationOptions
from schemas import features

ACCURACY = "accuracy"
AUC = "auc"
PRECISION = "precision"
RECALL = "recall"
LOSS = "loss"
EXAMPLE_COUNT = "example_count"


def _lower_bound(value: float) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(value_threshold=tfma.GenericValueThreshold(lower_bound={"value": value}))


def make_eval_config(options: EvaluationOptions) -> tfma.EvalConfig:
    """Builds the EvalConfig: serialized-example signature, label, metrics, thresholds."""
    metrics = [
        tfma.MetricConfig(class_name="ExampleCount", config=f'{{"name": "{EXAMPLE_COUNT}"}}'),
        tfma.MetricConfig(
            class_name="BinaryAccuracy",
            config=f'{{"name": "{ACCURACY}"}}',
            threshold=_lower_bound(options.min_accuracy),
        ),
        tfma.MetricConfig(
            class_name="AUC", config=f'{{"name": "{AUC}"}}', threshold=_lower_bound(options.min_auc)
        ),
        tfma.MetricConfig(class_name="Precision", config=f'{{"name": "{PRECISION}"}}'),
        tfma.MetricConfig(class_name="Recall", config=f'{{"name": "{RECALL}"}}'),
        tfma.MetricConfig(class_name="BinaryCrossentropy", config=f'{{"name": "{LOSS}"}}'),
    ]
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=features.EXAMPLES_SIGNATURE,
                label_key=features.LABEL,
                prediction_key=features.PROBABILITY_OUTPUT,
            )
        ],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
