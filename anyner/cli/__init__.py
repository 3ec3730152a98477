"""The ``anyner`` command line: ``app`` holds the commands, each module adds its own."""

from . import adapt, evaluate, export, extract, info, serve  # noqa: F401  (importing registers the commands)
from .app import app


def main() -> None:
    app()
