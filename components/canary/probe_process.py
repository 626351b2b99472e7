"""Runs the canary probes against a SavedModel in a process that imports nothing but TensorFlow.

Started as ``python -I probe_process.py REQUEST RESULT`` (JSON files: see
``checks.run_probes`` and :func:`probe`); imports nothing from this project,
TFX, tf.Transform or Beam, and reports which of them are loaded at the end.
"""

import base64
import json
import os
import sys
import time
import timeit
import traceback

# Top-level packages that must not be loaded in the probe process.
FORBIDDEN_MODULES = ("tfx", "tensorflow_transform", "apache_beam", "components", "pipeline", "schemas")


def _example(tf, feature: str, text: bytes) -> bytes:
    example = tf.train.Example()
    example.features.feature[feature].bytes_list.value.append(text)
    return example.SerializeToString()


def _timed_call(function, repeats: int, **inputs) -> tuple[list, float, float]:
    started = time.perf_counter()
    outputs = function(**inputs)
    first = time.perf_counter() - started
    return outputs, first, min([first, *timeit.repeat(lambda: function(**inputs), repeat=repeats, number=1)])


def import_tensorflow():
    """Imports TensorFlow without Keras' optimizers (needed only to load *Keras* models), as a server does."""
    skipped = [
        name for name in ("keras.src.optimizers", "tf_keras.src.optimizers") if name not in sys.modules
    ]
    try:
        for name in skipped:
            sys.modules[name] = None  # importing it raises ImportError, which TensorFlow allows
        import tensorflow as tf
    finally:
        for name in skipped:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return tf


def probe(request: dict) -> dict:
    """Loads the model and calls both signatures on the probes; never raises.

    Returns ``load_seconds``, per signature the probabilities (probe order) and the first and fastest
    of ``repeats`` batch latencies, or ``error``.
    """
    result: dict = {"signatures": {}}
    try:
        tf = import_tensorflow()
        texts = [base64.b64decode(p["text_base64"]) for p in request["probes"]]
        started = time.perf_counter()
        model = tf.saved_model.load(request["model_dir"])
        result["load_seconds"] = time.perf_counter() - started
        result["signatures_found"] = sorted(model.signatures)
        calls = {
            request["text_signature"]: {request["text_input"]: tf.constant(texts, dtype=tf.string)},
            request["examples_signature"]: {
                request["examples_input"]: tf.constant(
                    [_example(tf, request["text_feature"], text) for text in texts], dtype=tf.string
                )
            },
        }
        for name, inputs in calls.items():
            if name not in model.signatures:
                result["error"] = f"the SavedModel has no signature {name!r}"
                return result
            outputs, first, fastest = _timed_call(model.signatures[name], request["repeats"], **inputs)
            if request["output"] not in outputs:
                result["error"] = f"signature {name!r} has no output {request['output']!r}"
                return result
            array = outputs[request["output"]].numpy()
            if array.shape not in ((len(texts),), (len(texts), 1)) or array.dtype.kind not in "fiu":
                result["error"] = (
                    f"signature {name!r} gave {request['output']!r} of shape {list(array.shape)} and type "
                    f"{array.dtype} for {len(texts)} probes; expected one probability per probe"
                )
                return result
            values = array.reshape(-1).tolist()
            result["signatures"][name] = {
                "probabilities": [float(value) for value in values],
                "first_batch_seconds": first,
                "batch_seconds": fastest,
            }
    except Exception as error:  # reported to the caller, which refuses the model
        result["error"] = f"{type(error).__name__}: {error}"
        result["traceback"] = traceback.format_exc(limit=5)
    return result


def main(argv: list[str]) -> int:
    request_path, result_path = argv[1], argv[2]
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    result = probe(request)
    result["loaded_modules"] = sorted(
        name for name in FORBIDDEN_MODULES if any(m == name or m.startswith(name + ".") for m in sys.modules)
    )
    result["python"] = sys.version.split()[0]
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skips interpreter teardown: the result is written, and TensorFlow's
    # objects need no orderly destruction (see pipeline/gc_at_exit.py).
    os._exit(code)
