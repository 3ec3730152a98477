"""What the server allows per request and how it batches: a typed, frozen, validated record."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import InputError

# JSON may spell one character as a 6-byte escape ("\u00e9"), so a body can be this many times
# larger than the UTF-8 texts it carries
_JSON_ESCAPE_FACTOR = 6
_BODY_SLACK = 1 << 20  # labels, options and JSON punctuation


@dataclass(frozen=True)
class ServeSettings:
    """Limits and batching for ``anyner serve``. A request over a limit gets 413, never a cut."""

    max_batch: int = 32
    """Most texts gathered into one model call; 1 turns batching off."""
    batch_window_ms: float = 5.0
    """How long the batcher waits for more requests after the first; 0 turns batching off."""
    max_text_bytes: int = 100_000
    """Most UTF-8 bytes in one text."""
    max_texts: int = 64
    """Most texts in one request."""
    max_labels: int = 256
    """Most labels in one request."""
    encoder_batch_size: int = 8
    """Encoder passes per forward call inside one model call (``batch_size`` of the model)."""

    def __post_init__(self) -> None:
        positive = ("max_batch", "max_text_bytes", "max_texts", "max_labels", "encoder_batch_size")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in positive and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{f.name} must be a positive integer, got {value!r}")
        window = self.batch_window_ms
        if isinstance(window, bool) or not isinstance(window, int | float) or not 0 <= window <= 10_000:
            raise InputError(
                f"batch_window_ms must be a number of milliseconds in [0, 10000], got {window!r}"
            )

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read at all: room for max_texts texts of max_text_bytes each."""
        return self.max_texts * self.max_text_bytes * _JSON_ESCAPE_FACTOR + _BODY_SLACK
