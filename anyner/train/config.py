"""The training config: a typed, frozen dataclass read from YAML or TOML."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import AnyNERError, InputError


@dataclass(frozen=True)
class DataSource:
    path: str  # a data file in any readable format
    max_examples: int | None = None  # a seeded sample of this many (after windowing)
    # labels this source may leave unlabelled (a partially annotated set): never negatives for it
    not_negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoraSettings:
    """Train LoRA adapters on the encoder (plus the heads) instead of the whole encoder."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("query", "key", "value", "dense")


@dataclass(frozen=True)
class ContrastiveSettings:
    """The boundary-aware contrastive loss (BANER §3.1.2): the representation of a mention's
    boundary words [h_start, h_end] is pulled towards its type's [ENT] state, and the
    representations of wrong boundaries (start or end moved by up to ``shift`` words) and of
    random non-mention spans are pushed away."""

    weight: float = 0.5  # against the span × type loss; 0 turns it off
    temperature: float = 0.1
    layer: int = -2  # encoder layer whose states are compared (negative: from the top)
    shift: int = 2  # wrong boundaries: start and/or end moved by 1..shift words
    random_negatives: int = 8  # non-mention spans per text

    def __post_init__(self) -> None:
        check_values(self, weight=self.weight >= 0, temperature=self.temperature > 0, shift=self.shift >= 1)
        check_values(self, random_negatives=self.random_negatives >= 0)


@dataclass(frozen=True)
class TrainConfig:
    output_dir: str
    train: tuple[DataSource, ...]
    dev: tuple[DataSource, ...] = ()
    backbone: str = "all-MiniLM-L6-v2"  # encoder to start from (see anyner.backbones)
    init_from: str | None = None  # or continue from an anyner model folder
    variant: str = "uni-span"  # a name in anyner.variants: uni-span, uni-token, bi-span, bi-token
    labels_backbone: str | None = None  # a bi-encoder's label encoder; None: the same as backbone
    train_labels_encoder: bool = False  # a bi-encoder's label encoder trains too (else frozen)
    max_width: int = 12
    max_words: int = 128  # training texts are cut into windows of at most this many words
    steps: int = 10_000  # optimizer steps
    batch_size: int = 8  # examples per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr_encoder: float = 3e-5
    lr_heads: float = 3e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    schedule: Literal["linear", "cosine"] = "linear"
    max_grad_norm: float = 1.0
    loss: Literal["bce", "focal"] = "bce"
    focal_alpha: float = 0.75
    focal_gamma: float = 2.0
    negative_fraction: float = 0.5  # share of prompt types that come from other examples
    type_drop_prob: float = 0.3  # chance to keep only a random subset of an example's types
    max_types: int = 25
    freeze_word_embeddings: bool = True  # the pretrained rows; new marker tokens still train
    dropout: float = 0.3  # in the heads
    attention_dropout: float | None = 0.0  # encoder attention-probability dropout; None keeps the backbone's
    # encoder attention kernel while training; None: "eager" (plain matmuls) under bf16, where
    # it measured ~30% faster on the CPU than sdpa's flash kernel, else the backbone's (sdpa)
    attn_implementation: str | None = None
    # bf16 autocast: "auto" is on for a GPU and for CPUs with native bf16 (AVX512-BF16 or AMX),
    # off elsewhere (emulated bf16 is slow there, and some oneDNN bf16 kernels fail)
    bf16: bool | Literal["auto"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"  # "auto": a CUDA GPU when there is one
    workers: int = 0  # processes building batches beside the training one (worth it on a GPU)
    definitions: str | None = None  # {label: definition} JSON; a definition sometimes replaces its label
    definition_prob: float = 0.0  # chance per label (that has a definition) to be shown as its definition
    near_negative_fraction: float = 0.0  # share of negative types drawn from the example's own data set
    seed: int = 42
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    eval_every: int = 1000
    eval_examples: int = 400  # per dev source
    threads: int | None = None
    lora: LoraSettings | None = None
    contrastive: ContrastiveSettings | None = None  # the boundary-aware contrastive loss, added

    def __post_init__(self) -> None:
        from ..variants import get_variant

        try:
            get_variant(self.variant)
        except AnyNERError as exc:
            raise InputError(f"invalid training config: {exc}") from None
        checks = {
            "train": len(self.train) > 0,
            "steps": self.steps > 0,
            "batch_size": self.batch_size > 0,
            "grad_accum": self.grad_accum > 0,
            "max_types": self.max_types > 0,
            "negative_fraction": 0.0 <= self.negative_fraction < 1.0,
            "type_drop_prob": 0.0 <= self.type_drop_prob <= 1.0,
            "warmup_ratio": 0.0 <= self.warmup_ratio < 1.0,
            "checkpoint_every": self.checkpoint_every > 0,
            "eval_every": self.eval_every > 0,
            "lr_encoder": self.lr_encoder >= 0,
            "lr_heads": self.lr_heads > 0,
            "bf16": self.bf16 in (True, False, "auto"),
            "device": self.device in ("auto", "cpu", "cuda"),
            "workers": self.workers >= 0,
            "definition_prob": 0.0 <= self.definition_prob <= 1.0,
            "near_negative_fraction": 0.0 <= self.near_negative_fraction <= 1.0,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise InputError(
                f"invalid training config value(s): {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}"
            )

    def resolved_device(self) -> str:
        import torch

        if self.device == "cuda" and not torch.cuda.is_available():
            raise InputError("device: cuda, but torch sees no CUDA GPU here; use device: auto or cpu")
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    def resolved_bf16(self, device: str) -> bool:
        if self.bf16 != "auto":
            return bool(self.bf16)
        if device == "cuda":
            return True
        from ..runtime.cpu import cpu_info

        return cpu_info().native_bf16

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))


def load_train_config(path: str | Path) -> TrainConfig:
    """Read a YAML (.yaml/.yml) or TOML (.toml) training config. Relative data paths are
    taken from the config file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"training config {path} does not exist") from exc
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # YAML and TOML parsers raise their own error types
        raise InputError(
            f"{path} is not valid {'TOML' if path.suffix == '.toml' else 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the config must be a mapping of keys to values")
    return config_from_dict(data, base=path.parent)


def config_from_dict(data: dict[str, Any], base: Path = Path(".")) -> TrainConfig:
    data = dict(data)
    if "architecture" in data:  # the name before model variants: "span" or "token", a uni-encoder
        data.setdefault("variant", f"uni-{data.pop('architecture')}")
    _check_keys(TrainConfig, data, "training config")
    for key in ("train", "dev"):
        sources = data.get(key, [])
        if isinstance(sources, str | dict):
            sources = [sources]
        data[key] = tuple(_source(s, base) for s in sources)
    if data.get("lora") is not None:
        lora = data["lora"] if isinstance(data["lora"], dict) else {}
        _check_keys(LoraSettings, lora, "lora settings")
        if "target_modules" in lora:
            lora["target_modules"] = tuple(lora["target_modules"])
        data["lora"] = LoraSettings(**lora)
    if data.get("contrastive") is not None:
        contrastive = data["contrastive"] if isinstance(data["contrastive"], dict) else {}
        _check_keys(ContrastiveSettings, contrastive, "contrastive settings")
        try:
            data["contrastive"] = ContrastiveSettings(**contrastive)
        except (TypeError, ValueError) as exc:
            raise InputError(f"invalid contrastive settings: {exc}") from None
    for key in ("output_dir", "init_from", "definitions"):
        if data.get(key) is not None:
            data[key] = str(base / data[key])
    try:
        return TrainConfig(**data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid training config: {exc}") from exc


def apply_overrides(cfg: TrainConfig, assignments: Sequence[str]) -> TrainConfig:
    """``["loss=focal", "definition_prob=0"]``: top-level fields replaced, values read as YAML."""
    import yaml

    changes: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(TrainConfig)} - {"train", "dev", "lora", "contrastive"}
    for item in assignments:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise InputError(
                f"--set takes KEY=VALUE with KEY one of {', '.join(sorted(known))}; got {item!r}"
            )
        try:
            changes[key] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise InputError(f"--set {item!r}: the value is not valid YAML ({exc})") from exc
    try:
        return dataclasses.replace(cfg, **changes)
    except (TypeError, ValueError) as exc:
        raise InputError(f"invalid --set value: {exc}") from exc


def _source(value: Any, base: Path) -> DataSource:
    if isinstance(value, str):
        return DataSource(str(base / value))
    if not isinstance(value, dict):
        raise InputError(f"a data source must be a path or a mapping with 'path', got {value!r}")
    _check_keys(DataSource, value, "data source")
    if "path" not in value:
        raise InputError(f"a data source needs a 'path', got {value!r}")
    return DataSource(
        **{**value, "path": str(base / value["path"]), "not_negatives": tuple(value.get("not_negatives", ()))}
    )


def _check_keys(cls: type, data: dict[str, Any], what: str) -> None:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown {what} key(s) {unknown}; known keys: {', '.join(sorted(known))}")


def check_values(obj: object, **checks: bool) -> None:
    bad = [name for name, ok in checks.items() if not ok]
    if bad:
        raise ValueError(
            f"invalid {type(obj).__name__} value(s): {', '.join(f'{b}={getattr(obj, b)!r}' for b in bad)}"
        )
