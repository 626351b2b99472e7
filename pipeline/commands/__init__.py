"""The subcommands of ``imdb-pipeline``: each module adds its command's parser and runs it.

``pipeline/cli.py`` builds the parser from them, dispatches, and holds what the
commands share (logging, exit codes, configuration flags, Beam options).
"""
