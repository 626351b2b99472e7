"""Package definition: the pipeline, its components and the curated schema.

The exact, tested set of dependencies is requirements.lock, installed with
``pip install --no-deps`` (see the README): pip's resolver cannot install TFX
1.21 on Python 3.11 because it pins ml-metadata and
tensorflow-data-validation releases that were never published. The ranges
below document the direct dependencies; TFX itself, ml-pipelines-sdk and
ml-metadata come from the lock only. ``setup.py`` is also what ships this code
to Beam workers (``--setup_file``).
"""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="imdb-embedding-pipeline",
    version="0.1.0",
    description=(
        "TFX pipeline for IMDb sentiment: tf.Transform vocabulary, aligned pretrained or word2vec "
        "embeddings, a Keras classifier and versioned SavedModels"
    ),
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.12",
    packages=find_packages(
        include=["pipeline", "pipeline.*", "components", "components.*", "schemas", "schemas.*"]
    ),
    package_data={
        "schemas": ["*.pbtxt"],
        "pipeline": ["data/*.tar.gz", "data/README.md"],
        "components.report": ["templates/*.html", "templates/*.css"],
    },
    extras_require={"kubeflow": ["kfp==2.16.*"]},
    install_requires=[
        "tensorflow==2.21.*",
        "tf-keras==2.21.*",
        "tensorflow-transform==1.21.*",
        "tensorflow-model-analysis==0.52.*",
        "tfx-bsl==1.21.*",
        "apache-beam==2.77.*",
        "gensim==4.4.*",
        "numpy>=2,<3",
        "pydantic>=2.11,<3",
        "pyyaml>=6",
        "tensorboard==2.21.*",
        "jinja2>=3",
        "matplotlib>=3.10",
        "psutil>=5",
        "tqdm>=4",
    ],
    entry_points={"console_scripts": ["imdb-pipeline=pipeline.cli:main"]},
)
