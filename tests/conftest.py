"""Tiny random encoders built in the test session: no network, no downloaded weights."""

from __future__ import annotations

import atexit
import os
import shutil
import string
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# precision="auto" exports loaded models to ONNX: into a folder of this run, not the user's cache
if "ANYNER_CACHE" not in os.environ:
    os.environ["ANYNER_CACHE"] = tempfile.mkdtemp(prefix="anyner-test-cache-")
    atexit.register(shutil.rmtree, os.environ["ANYNER_CACHE"], ignore_errors=True)

SHARED = Path(os.environ.get("ANYNER_SHARED", Path(__file__).resolve().parents[2] / "shared"))
FIXTURES = SHARED / "fixtures" / "gliner"

WORDS = (
    "bill gates founded microsoft in albuquerque on april new york city is big the a of and "
    "person organization date location"
).split()


def build_tiny_backbone(folder: Path, seed: int = 0) -> Path:
    """A 2-layer BERT (hidden 32) with random weights and a small WordPiece vocabulary."""
    import torch
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    chars = string.ascii_lowercase + string.digits
    vocab_list = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *string.punctuation,
        *chars,
        *(f"##{c}" for c in chars),
        *WORDS,
    ]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(vocab_list))}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> Path:
    return build_tiny_backbone(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def span_model(tiny_backbone):
    import torch

    from anyner import AnyNER

    torch.manual_seed(0)
    return AnyNER.from_backbone(tiny_backbone, dropout=0.0)


@pytest.fixture(scope="session")
def token_model(tiny_backbone):
    import torch

    from anyner import AnyNER

    torch.manual_seed(0)
    return AnyNER.from_backbone(tiny_backbone, variant="uni-token", dropout=0.0)


@pytest.fixture(scope="session")
def gliner_fixtures() -> Path:
    """Checkpoints saved by the public gliner library, in ../shared/fixtures (CI has them)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"gliner fixtures not found at {FIXTURES} (set ANYNER_SHARED)")
    return FIXTURES
