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
WEIGHTS_FILE = "adapter_model.safetensors"  # peft's name


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


def read_lora(folder: Path):
    """A saved peft adapter's config (for inference) and weights; shipped adapters may hold
    8-bit matrices (checkpoints/int8.py), which peft's own loader would read as plain ints."""
    from peft import PeftConfig

    from ..checkpoints.weights import read_state_dict

    config = PeftConfig.from_pretrained(str(folder))
    config.inference_mode = True
    return config, read_state_dict(folder / WEIGHTS_FILE)


def put_lora(peft_model: nn.Module, name: str, state: dict, folder: Path) -> None:
    """Load ``state`` into the peft model's adapter ``name``; every LoRA weight must be there."""
    from peft import set_peft_model_state_dict

    result = set_peft_model_state_dict(peft_model, state, adapter_name=name)
    missing = [key for key in result.missing_keys if "lora_" in key and f".{name}." in key]
    if missing:
        raise CheckpointError(f"the adapter in {folder} lacks {len(missing)} LoRA weight(s): {missing[0]}, …")


def load_adapter(encoder: nn.Module, folder: Path) -> nn.Module:
    """The encoder with the folder's adapter merged in (plain modules again: full speed)."""
    from peft import PeftModel

    try:
        config, state = read_lora(folder / ADAPTER_DIR)
        with quiet_peft():
            model = PeftModel(encoder, config)
            put_lora(model, "default", state, folder / ADAPTER_DIR)
            return model.merge_and_unload()
    except Exception as exc:  # peft and safetensors raise many types for damaged or foreign files
        raise CheckpointError(
            f"cannot load the LoRA adapter in {folder / ADAPTER_DIR}: {type(exc).__name__}: {exc}"
        ) from exc
