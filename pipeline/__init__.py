"""Builds and runs the pipeline DAG: configuration, wiring, runners and the CLI."""
