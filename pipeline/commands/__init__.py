"""The subcommands of ``imdb-pipeline``: each module adds its command's parser and runs it.

``common.py`` holds what they share; ``pipeline/cli.py`` builds the parser from them and dispatches.
"""
