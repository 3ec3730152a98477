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
    max_cost: int = 2_000_000
    """Most work in one request: words × labels over its texts, doubled for nested or
    multi-label decoding (see :func:`anyner.serve.limits.request_cost`)."""
    small_cost: int = 20_000
    """Requests costing at most this run in their own lane, never queued behind a large one."""
    max_entities: int = 1000
    """Most entities returned per text: the best-scoring ones; the result says it was cut."""
    deadline_s: float = 30.0
    """A request not answered within this many seconds gets a 504 and its work stops."""
    body_timeout_s: float = 15.0
    """Most seconds to wait for the next piece of a request's body (408 after)."""
    header_timeout_s: float = 10.0
    """Most seconds from a connection's opening (or its last answer) to a complete request head."""
    idle_timeout_s: float = 5.0
    """A kept-alive connection with no new request is closed after this many seconds."""
    shutdown_grace_s: float = 30.0
    """On SIGTERM or Ctrl-C: requests in flight have this long; those still running get a 503."""
    allowed_hosts: tuple[str, ...] = ("*",)
    """Host header values answered (others get a 400): a server on a loopback address answers
    only its own names, so a web page elsewhere cannot reach it through DNS rebinding."""

    def __post_init__(self) -> None:
        positive = (
            "max_batch",
            "max_text_bytes",
            "max_texts",
            "max_labels",
            "encoder_batch_size",
            "max_cost",
            "small_cost",
            "max_entities",
        )
        seconds = ("deadline_s", "body_timeout_s", "header_timeout_s", "idle_timeout_s", "shutdown_grace_s")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in positive and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InputError(f"{f.name} must be a positive integer, got {value!r}")
            if f.name in seconds and (
                isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600
            ):
                raise InputError(f"{f.name} must be a number of seconds in (0, 3600], got {value!r}")
        if not self.allowed_hosts or not all(isinstance(h, str) and h for h in self.allowed_hosts):
            raise InputError(f"allowed_hosts must be non-empty host names, got {self.allowed_hosts!r}")
        window = self.batch_window_ms
        if isinstance(window, bool) or not isinstance(window, int | float) or not 0 <= window <= 10_000:
            raise InputError(
                f"batch_window_ms must be a number of milliseconds in [0, 10000], got {window!r}"
            )

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read at all: room for max_texts texts of max_text_bytes each."""
        return self.max_texts * self.max_text_bytes * _JSON_ESCAPE_FACTOR + _BODY_SLACK
