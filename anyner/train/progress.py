"""Live feedback while training: a rich progress bar on a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainProgress:
    def __init__(self, total: int, start: int, enabled: bool = True, every: int = 50):
        self.total, self.enabled, self.every = total, enabled, every
        self.console = Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self.loss: float | None = None
        self.speed: float | None = None
        self.start_time, self.start_step = time.perf_counter(), start
        self.bar = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TextColumn("{task.fields[speed]:.1f} ex/s"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not self.live,
        )
        self.task = self.bar.add_task("train", total=total, completed=start, loss=0.0, speed=0.0)

    def __enter__(self) -> TrainProgress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def update(self, step: int, loss: float, speed: float) -> None:
        self.loss = loss if self.loss is None else 0.98 * self.loss + 0.02 * loss
        self.speed = speed if self.speed is None else 0.95 * self.speed + 0.05 * speed
        speed = self.speed
        self.bar.update(self.task, completed=step, loss=self.loss, speed=speed)
        if self.enabled and not self.live and (step % self.every == 0 or step == self.total):
            elapsed = time.perf_counter() - self.start_time
            eta = elapsed / max(1, step - self.start_step) * (self.total - step)
            print(
                f"step {step}/{self.total} loss {self.loss:.3f} {speed:.1f} ex/s eta {eta / 60:.0f} min",
                file=sys.stderr,
                flush=True,
            )

    def note(self, message: str) -> None:
        if self.enabled:
            self.console.print(message) if self.live else print(message, file=sys.stderr, flush=True)
