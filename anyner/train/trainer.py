"""The training loop: GLiNER's recipe with two learning rates, warm-up then decay, gradient
clipping and accumulation, bf16 autocast, fixed seeds, exact resume, optional DDP, on the CPU
or a CUDA GPU (batches then built by worker processes beside the training one)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset

from ..api import AnyNER
from ..errors import InputError
from ..eval.evaluate import evaluate
from ..model.lora import add_lora
from .checkpoint import checkpoint_step, latest_checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .contrastive import ContrastiveTerm
from .losses import pair_loss
from .prepare import PROMPT_RESERVE, prepare
from .progress import TrainProgress
from .prompts import LabelPrompts, read_definitions
from .targets import TrainBatch, build_batch
from .types import NegativePools, sample_types

BUCKET = 64  # micro-batches whose examples are sorted by length together


class Trainer:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.out = Path(cfg.output_dir)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.rank, self.world = _init_distributed()
        self.device = torch.device(cfg.resolved_device())
        if self.world > 1 and self.device.type != "cpu":
            raise InputError("distributed training (torchrun) runs on the CPU here; set device: cpu")
        self.bf16 = cfg.resolved_bf16(self.device.type)
        torch.manual_seed(cfg.seed)  # the heads' initial weights
        if cfg.init_from:
            self.ner = AnyNER.from_pretrained(cfg.init_from)
        else:
            self.ner = AnyNER.from_backbone(
                cfg.backbone,
                labels_backbone=cfg.labels_backbone,
                variant=cfg.variant,
                max_width=cfg.max_width,
                dropout=cfg.dropout,
            )
        self.model = self.ner.model
        self.variant = self.ner.pipeline.variant
        if cfg.lora is not None:
            builder = self.ner.pipeline.builder
            lo = cfg.lora
            self.model.encoder.model = add_lora(
                self.model.encoder.model, lo.r, lo.alpha, lo.dropout, lo.target_modules, self._marker_ids()
            )
        self._prepare_parameters()
        self.contrastive = None
        if cfg.contrastive is not None and cfg.contrastive.weight > 0:
            if not self.variant.encoding.uses_markers:
                raise InputError(
                    "the contrastive loss compares spans with [ENT] states: it needs a uni-encoder"
                )
            self.contrastive = ContrastiveTerm(
                cfg.contrastive, self.model.encoder.model, cfg.max_width, cfg.seed
            )
        builder = self.ner.pipeline.builder
        width = cfg.max_width if self.variant.level.uses_max_width else None
        self.data = prepare(cfg.train, builder, cfg.max_words, width, cfg.seed)
        if not self.data.labels:
            raise InputError("the training data has no labelled mentions")
        self._pools = [
            NegativePools(self.data.labels, labels, frozenset(src.not_negatives), cfg.near_negative_fraction)
            for src, labels in zip(cfg.train, self.data.source_labels, strict=True)
        ]
        definitions = read_definitions(cfg.definitions) if cfg.definitions else {}
        self._prompts = LabelPrompts(definitions, cfg.definition_prob, builder, PROMPT_RESERVE)
        self.dev = [
            (
                src.path,
                prepare(
                    [replace(src, max_examples=cfg.eval_examples)], builder, cfg.max_words, None, cfg.seed
                ),
            )
            for src in cfg.dev
        ]
        self.optimizer = self._optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.net = DistributedDataParallel(self.model) if self.world > 1 else self.model
        self._groups: dict[int, list[np.ndarray]] = {}
        self._lengths = np.array([len(ex.words) for ex in self.data.examples])

    # -- set-up -----------------------------------------------------------------------
    def _prepare_parameters(self) -> None:
        backbone = self.model.encoder.model
        for name, p in backbone.named_parameters():
            if "pooler" in name:  # never used for NER; DDP needs every trained weight used
                p.requires_grad_(False)
        labels_encoder = getattr(self.model, "labels_encoder", None)
        if labels_encoder is not None:
            for name, p in labels_encoder.named_parameters():
                p.requires_grad_(self.cfg.train_labels_encoder and "pooler" not in name)
        cpu_bf16 = self.bf16 and self.device.type == "cpu"
        attn = self.cfg.attn_implementation or ("eager" if cpu_bf16 else None)
        if attn is not None:
            backbone.set_attn_implementation(attn)
        if self.cfg.attention_dropout is not None:
            # dropout on attention probabilities costs a random mask of B·heads·T² per layer
            # and rules out fused attention kernels; 0 trains about 15% faster here
            for module in backbone.modules():
                if "SelfAttention" in type(module).__name__ and isinstance(
                    getattr(module, "dropout", None), nn.Dropout
                ):
                    module.dropout.p = self.cfg.attention_dropout
        if self.cfg.freeze_word_embeddings and self.cfg.lora is None:  # LoRA: peft freezes the base
            weight = backbone.get_input_embeddings().weight
            keep = torch.zeros(weight.size(0), 1)
            keep[self._marker_ids()] = 1.0  # the new markers must learn
            weight.register_hook(lambda grad: grad * keep.to(grad.device, grad.dtype))

    def _marker_ids(self) -> list[int]:
        """The prompt markers' embedding rows (a uni-encoder's), which train with the rest."""
        builder = self.ner.pipeline.builder
        return [builder.ent_id, builder.sep_id] if self.variant.encoding.uses_markers else []

    def _optimizer(self) -> torch.optim.Optimizer:
        groups: dict[tuple[float, float], list] = {}
        if self.contrastive is not None:  # the loss's projection trains like a head (not saved)
            groups[(self.cfg.lr_heads, self.cfg.weight_decay)] = self.contrastive.parameters()
        for name, p in self.model.named_parameters():
            if not p.requires_grad:
                continue
            encoder = name.startswith(("encoder.model.", "labels_encoder.model."))
            lr = self.cfg.lr_encoder if encoder else self.cfg.lr_heads
            no_decay = p.ndim < 2 or "embeddings" in name
            groups.setdefault((lr, 0.0 if no_decay else self.cfg.weight_decay), []).append(p)
        params = [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]
        return torch.optim.AdamW(params, fused=True)  # one kernel per group: 3x faster steps on CPU

    def _lr_factor(self, step: int) -> float:
        warmup = int(self.cfg.warmup_ratio * self.cfg.steps)
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, self.cfg.steps - warmup)
        if self.cfg.schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * progress))
        return max(0.0, 1.0 - progress)

    # -- data order: a pure function of (seed, step), so a resumed run sees the same data.
    # Micro-batches come in groups of BUCKET: the group's examples are sorted by length and cut
    # into batches taken in random order, so a batch holds texts of similar length (less padding).
    def _examples(self, step: int, micro: int) -> np.ndarray:
        unit = (step * self.cfg.grad_accum + micro) * self.world + self.rank
        group, index = divmod(unit, BUCKET)
        if group not in self._groups:
            self._groups = {group: self._bucket(group)}
        return self._groups[group][index]

    def _bucket(self, group: int) -> list[np.ndarray]:
        n, size = len(self.data.examples), self.cfg.batch_size
        first = group * BUCKET * size
        positions = range(first, first + BUCKET * size)
        orders: dict[int, np.ndarray] = {}
        chosen = []
        for g in positions:
            epoch, pos = divmod(g, n)
            if epoch not in orders:
                orders[epoch] = np.random.default_rng([self.cfg.seed, epoch]).permutation(n)
            chosen.append(orders[epoch][pos])
        chosen_arr = np.array(chosen)
        by_length = chosen_arr[np.argsort(self._lengths[chosen_arr], kind="stable")]
        batches = [by_length[i : i + size] for i in range(0, len(by_length), size)]
        shuffle = np.random.default_rng([self.cfg.seed, 1_000_003, group]).permutation(len(batches))
        return [batches[i] for i in shuffle]

    def _batch(self, step: int, micro: int) -> TrainBatch:
        cfg = self.cfg
        indices = self._examples(step, micro)
        examples = [self.data.examples[i] for i in indices]
        rng = np.random.default_rng([cfg.seed, step, micro, self.rank])
        types = [
            sample_types(
                list(dict.fromkeys(label for _, _, label in ex.spans)),
                self._pools[self.data.source_of[i]],
                rng,
                cfg.negative_fraction,
                cfg.type_drop_prob,
                cfg.max_types,
            )
            for i, ex in zip(indices, examples, strict=True)
        ]
        prompts = [self._prompts(labels, rng) for labels in types]
        predictor = self.ner.pipeline
        return build_batch(
            examples,
            types,
            predictor.builder,
            predictor.pad_id,
            self.variant,
            self.model.config.max_width,
            prompts,
            predictor.labels_tokenizer,
        )

    def _batches(self, start: int) -> Iterator[TrainBatch]:
        """The micro-batches from step ``start`` on, in order. With ``workers``, forked processes
        build them ahead (before any GPU use: a forked CUDA context is unusable)."""
        units = range(start * self.cfg.grad_accum, self.cfg.steps * self.cfg.grad_accum)
        if self.cfg.workers == 0:
            return (self._batch(*divmod(u, self.cfg.grad_accum)) for u in units)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        loader = DataLoader(
            _Units(self),
            batch_size=None,
            sampler=units,
            num_workers=self.cfg.workers,
            collate_fn=_same,
            prefetch_factor=8,
            multiprocessing_context="fork",
        )
        return iter(loader)

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> Path:
        cfg = self.cfg
        ckpt_root = self.out / "checkpoints"
        latest = latest_checkpoint(ckpt_root)
        start = checkpoint_step(latest) if latest is not None else 0
        batches = self._batches(start)  # forks its workers, if any, before the model moves to a GPU
        self.model.to(self.device)
        if latest is not None:
            load_checkpoint(latest, self.model, self.optimizer, self.scheduler)
        log = _Log(self.out / "train_log.jsonl", self.rank == 0)
        log.write({"event": "start", "step": start, "data": dict(self.data.report), "config": cfg.to_dict()})
        focal = (cfg.focal_alpha, cfg.focal_gamma) if cfg.loss == "focal" else None
        per_step = cfg.batch_size * cfg.grad_accum * self.world
        with TrainProgress(cfg.steps, start, enabled=self.rank == 0) as progress:
            window: list[tuple[float, float]] = []
            for step in range(start, cfg.steps):
                tic = time.perf_counter()
                self.model.train()
                total = 0.0
                for micro in range(cfg.grad_accum):
                    batch = next(batches).to(self.device)
                    # dropout masks follow (seed, step): identical after a resume
                    torch.manual_seed(
                        cfg.seed * 1_000_003 + (step * cfg.grad_accum + micro) * self.world + self.rank
                    )
                    with (
                        torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16),
                        self.contrastive.capture()
                        if self.contrastive is not None
                        else nullcontext([]) as seen,
                    ):
                        logits = self.net(**batch.inputs)
                        loss = pair_loss(logits, batch.targets, batch.mask, focal)
                        if self.contrastive is not None:
                            loss = loss + self.contrastive.loss(seen, batch.inputs, batch.gold)
                    loss = loss / cfg.grad_accum
                    loss.backward()
                    total += loss.item()
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                done = step + 1
                seconds = time.perf_counter() - tic
                progress.update(done, total, per_step / seconds)
                window.append((total, seconds))
                if done % 50 == 0 or done == cfg.steps:
                    # averaged over the steps since the last line; training time only
                    log.write(
                        {
                            "step": done,
                            "loss": round(sum(x for x, _ in window) / len(window), 4),
                            "lr": self.scheduler.get_last_lr(),
                            "examples_per_s": round(per_step * len(window) / sum(t for _, t in window), 2),
                        }
                    )
                    window = []
                if self.rank == 0 and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
                    save_checkpoint(
                        ckpt_root, done, self.model, self.optimizer, self.scheduler, cfg.keep_checkpoints
                    )
                if self.rank == 0 and self.dev and (done % cfg.eval_every == 0 or done == cfg.steps):
                    scores = self.evaluate_dev()
                    progress.note(
                        f"step {done}: dev F1 " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items())
                    )
                    log.write({"step": done, "dev_f1": scores})
                if self.world > 1:
                    dist.barrier()
        final = self.out / "model"
        self.model.to("cpu")  # the saved deltas are taken against the backbone on the CPU
        if self.rank == 0:
            # a LoRA run saves its adapter apart, over the base backbone
            self.ner.save(final, base=cfg.backbone if cfg.lora is not None else None)
            log.write({"event": "done", "model": str(final)})
        return final

    def evaluate_dev(self) -> dict[str, float]:
        scores = {}
        for path, data in self.dev:
            report = evaluate(self.ner, data.examples)  # threshold 0.5, flat
            scores[f"{Path(path).parent.name}/{Path(path).stem}"] = round(100 * report.micro.f1, 2)
        return scores


class _Units(Dataset):
    """Micro-batch number -> the micro-batch, for DataLoader workers."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer

    def __len__(self) -> int:
        return self.trainer.cfg.steps * self.trainer.cfg.grad_accum

    def __getitem__(self, unit: int) -> TrainBatch:
        return self.trainer._batch(*divmod(unit, self.trainer.cfg.grad_accum))


def _same(batch: TrainBatch) -> TrainBatch:
    return batch


def _init_distributed() -> tuple[int, int]:
    """Under torchrun (WORLD_SIZE > 1): a gloo process group on the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo")
    if world > 1:
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _Log:
    def __init__(self, path: Path, enabled: bool):
        self.path, self.enabled = path, enabled
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"time": round(time.time(), 1), **record}) + "\n")
