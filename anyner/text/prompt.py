"""Turn words and labels into encoder inputs: ``[ENT] t0 [ENT] t1 … [SEP] x0 … xN-1``.

Each prompt element and each word is tokenized on its own, exactly as a Hugging Face
tokenizer does with ``is_split_into_words=True``, so a document is tokenized once and a
label once per process, and windows are cut by sub-token counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from tokenizers import Tokenizer

from ..errors import CheckpointError, InputError

# A "word" longer than this many sub-tokens (a URL, a base64 blob) keeps only its first
# ones in the encoder input; the word itself, its offsets and any entity on it are kept.
MAX_WORD_TOKENS = 64


@dataclass(frozen=True)
class DocTokens:
    """Sub-token ids of a document's words: word ``i`` is ``ids[starts[i]:starts[i + 1]]``."""

    ids: np.ndarray
    starts: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.starts)


@dataclass(frozen=True)
class EncoderInput:
    """One encoder pass: token ids, where each word's first sub-token sits, where each [ENT] sits."""

    input_ids: list[int]
    word_positions: list[int]
    type_positions: list[int]


class PromptBuilder:
    def __init__(
        self,
        tokenizer: Tokenizer,
        ent_token: str,
        sep_token: str,
        max_tokens: int,
        vocab_size: int | None = None,
    ):
        """``vocab_size``: the encoder's embedding rows; a token id past them (a marker the
        tokenizer knows but a bi-encoder's text encoder does not) is read as unknown."""
        tok = Tokenizer.from_str(tokenizer.to_str())  # a private copy: truncation/padding off
        tok.no_truncation()
        tok.no_padding()
        self._tok = tok
        self.ent_id = self._single_id(ent_token)
        self.sep_id = self._single_id(sep_token)
        self.unk_id = self._unk_id()
        # ids of the tokenizer's added tokens ([CLS], <<ENT>>…): a word spelled like one is text,
        # never a marker, so it is read as an unknown word
        added = tok.get_added_tokens_decoder()
        self.control_ids = np.array(sorted(added), dtype=np.int64)
        self.control_tokens = frozenset(t.content for t in added.values())
        self.prefix, self.suffix = self._special_template()
        self.max_tokens = max_tokens
        self.vocab_size = vocab_size
        # each label is tokenized once, and each group of labels laid out once
        self._label_ids = lru_cache(maxsize=65536)(self._encode_label)
        self._prompt_ids = lru_cache(maxsize=1024)(self._encode_prompt)

    # -- tokenizer facts -------------------------------------------------------------
    def _single_id(self, token: str) -> int:
        ids = self._tok.encode([token], is_pretokenized=True, add_special_tokens=False).ids
        if len(ids) != 1:
            raise CheckpointError(
                f"the tokenizer does not know the marker {token!r} as one token (it gives {len(ids)} ids); "
                "the checkpoint's tokenizer files do not belong to this model"
            )
        return ids[0]

    def _unk_id(self) -> int:
        model = self._tok.get_vocab()
        for name in ("[UNK]", "<unk>", "<UNK>"):
            if name in model:
                return model[name]
        return self.sep_id

    def _special_template(self) -> tuple[list[int], list[int]]:
        plain = self._tok.encode(["a"], is_pretokenized=True, add_special_tokens=False).ids
        full = self._tok.encode(["a"], is_pretokenized=True, add_special_tokens=True).ids
        for i in range(len(full) - len(plain) + 1):
            if full[i : i + len(plain)] == plain:
                return full[:i], full[i + len(plain) :]
        return [], []

    @property
    def special_count(self) -> int:
        return len(self.prefix) + len(self.suffix)

    # -- documents and labels ---------------------------------------------------------
    def encode_words(self, words: Sequence[str], max_word_tokens: int = MAX_WORD_TOKENS) -> DocTokens:
        n = len(words)
        if n == 0:
            return DocTokens(np.zeros(0, np.int64), np.zeros(1, np.int64))
        enc = self._tok.encode(list(words), is_pretokenized=True, add_special_tokens=False)
        ids = np.asarray(enc.ids, dtype=np.int64)
        word_ids = np.asarray([-1 if w is None else w for w in enc.word_ids], dtype=np.int64)
        keep = word_ids >= 0
        ids, word_ids = ids[keep], word_ids[keep]
        counts = np.bincount(word_ids, minlength=n)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(ids)) - first[word_ids]
        # Words the tokenizer erases (control or zero-width characters) still need a vector.
        final_counts = np.clip(counts, 1, max_word_tokens)
        starts = np.concatenate([[0], np.cumsum(final_counts)])
        out = np.full(int(starts[-1]), self.unk_id, dtype=np.int64)
        kept = rank < max_word_tokens
        out[starts[word_ids[kept]] + rank[kept]] = ids[kept]
        out[np.isin(out, self.control_ids)] = self.unk_id
        if self.vocab_size is not None:
            out[out >= self.vocab_size] = self.unk_id
        return DocTokens(out, starts)

    def _encode_label(self, prompt: str) -> tuple[int, ...]:
        ids = self._tok.encode([prompt], is_pretokenized=True, add_special_tokens=False).ids
        return tuple(ids) if ids else (self.unk_id,)

    def prompt_length(self, prompts: Sequence[str]) -> int:
        return sum(1 + len(self._label_ids(p)) for p in prompts) + 1

    def group_labels(self, prompts: Sequence[str]) -> list[list[int]]:
        """Split label indices into groups whose prompt takes at most half an encoder pass."""
        budget = (self.max_tokens - self.special_count) // 2
        groups: list[list[int]] = []
        current: list[int] = []
        used = 1  # the [SEP] marker
        for i, prompt in enumerate(prompts):
            cost = 1 + len(self._label_ids(prompt))
            if cost + 1 > budget:
                raise InputError(
                    f"label {prompt[:60]!r} is {cost - 1} tokens long; at most {budget - 2} fit in one "
                    "encoder pass: shorten it"
                )
            if current and used + cost > budget:
                groups.append(current)
                current, used = [], 1
            current.append(i)
            used += cost
        groups.append(current)
        return groups

    def _encode_prompt(self, prompts: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Token ids of ``prefix [ENT] t0 [ENT] t1 … [SEP]``, and where each [ENT] sits."""
        ids = list(self.prefix)
        type_positions = []
        for prompt in prompts:
            type_positions.append(len(ids))
            ids.append(self.ent_id)
            ids.extend(self._label_ids(prompt))
        ids.append(self.sep_id)
        return tuple(ids), tuple(type_positions)

    def build_text(self, doc: DocTokens, start: int, end: int) -> EncoderInput:
        """The encoder input for words ``[start, end)`` alone (a bi-encoder's text pass)."""
        ids = list(self.prefix)
        base = len(ids) - int(doc.starts[start])
        word_positions = (doc.starts[start:end] + base).tolist()
        ids.extend(doc.ids[doc.starts[start] : doc.starts[end]].tolist())
        ids.extend(self.suffix)
        return EncoderInput(ids, word_positions, [])

    def build(self, doc: DocTokens, start: int, end: int, prompts: Sequence[str]) -> EncoderInput:
        """The encoder input for words ``[start, end)`` of ``doc`` with these label prompts."""
        prompt_ids, type_positions = self._prompt_ids(tuple(prompts))
        ids = list(prompt_ids)
        base = len(ids) - int(doc.starts[start])
        word_positions = (doc.starts[start:end] + base).tolist()
        ids.extend(doc.ids[doc.starts[start] : doc.starts[end]].tolist())
        ids.extend(self.suffix)
        return EncoderInput(ids, word_positions, list(type_positions))
