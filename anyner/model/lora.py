"""LoRA adapters on the encoder, through peft: only the adapters (and the heads) train, and
the adapter is saved apart from the base encoder."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torch import nn

from ..errors import CheckpointError

ADAPTER_DIR = "adapter"


@contextmanager
def quiet_peft() -> Iterator[None]:
    """peft's model wrapper asks transformers (5.x) a deprecated question, and transformers
    warns on the user's terminal each time a LoRA model is made: not the user's concern."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


def add_lora(encoder: nn.Module, r: int, alpha: int, dropout: float, target_modules, token_ids) -> nn.Module:
    """Wrap a Hugging Face encoder; ``token_ids`` (the prompt markers) keep trainable embeddings."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        trainable_token_indices=list(token_ids),
    )
    with quiet_peft():
        return get_peft_model(encoder, config)


def is_lora(encoder: nn.Module) -> bool:
    return hasattr(encoder, "peft_config")


def save_adapter(encoder: nn.Module, folder: Path) -> None:
    # the marker rows travel as trainable tokens; the resized embedding matrix itself is the base's
    encoder.save_pretrained(str(folder / ADAPTER_DIR), save_embedding_layers=False)


def load_adapter(encoder: nn.Module, folder: Path) -> nn.Module:
    """The encoder with the folder's adapter merged in (plain modules again: full speed)."""
    from peft import PeftModel

    try:
        with quiet_peft():
            return PeftModel.from_pretrained(encoder, str(folder / ADAPTER_DIR)).merge_and_unload()
    except Exception as exc:  # peft and safetensors raise many types for damaged or foreign files
        raise CheckpointError(
            f"cannot load the LoRA adapter in {folder / ADAPTER_DIR}: {type(exc).__name__}: {exc}"
        ) from exc
