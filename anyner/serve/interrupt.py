"""Stopping a model call nobody waits for any more, between two encoder forward passes.

A model call runs in an executor thread, where nothing can be cancelled from outside. The
model's runner is wrapped so that each forward pass first checks the ``threading.Event`` of the
call in progress, and raises :class:`Abandoned` once it is set: a long request whose client
left, or whose deadline passed, frees the model within one forward pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Abandoned(Exception):
    """Every request of this model call has gone; nobody will read its result."""


class Interrupter:
    def __init__(self, model: Any):
        self._local = threading.local()  # the stop event of the call running in this thread
        # the facade's runner (anyner.AnyNER); a stand-in model without one runs uninterrupted
        predictor = getattr(model, "pipeline", None)
        if predictor is not None and getattr(predictor, "runner", None) is not None:
            predictor.runner = _Checked(predictor.runner, self.check)

    @contextmanager
    def watching(self, stop: threading.Event) -> Iterator[None]:
        self._local.stop = stop
        try:
            yield
        finally:
            self._local.stop = None

    def check(self) -> None:
        stop = getattr(self._local, "stop", None)
        if stop is not None and stop.is_set():
            raise Abandoned


class _Checked:
    """A runner that calls ``check`` before each forward pass of the runner it wraps."""

    def __init__(self, runner: Any, check: Callable[[], None]):
        self._runner, self._check = runner, check

    @contextmanager
    def session(self) -> Iterator[Callable]:
        with self._runner.session() as score:

            def checked(batch: Any) -> Any:
                self._check()
                return score(batch)

            yield checked

    def __getattr__(self, name: str) -> Any:  # anything else the runner offers
        return getattr(self._runner, name)
