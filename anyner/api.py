"""The model users hold: predict_entities, batch_predict_entities, save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from tokenizers import AddedToken

from .checkpoints import delta
from .checkpoints.gliner import is_gliner, read_gliner
from .checkpoints.native import is_native, read_native, write_native
from .checkpoints.weights import load_strict
from .config import ModelConfig
from .errors import CheckpointError, InputError
from .model import lora
from .model.encoder import build_backbone
from .model.model import NERModel
from .pipeline import Predictor
from .text.labels import LabelsArg, LabelSet, check_threshold, parse_labels
from .text.prompt import PromptBuilder


def _backbone_state(name: str) -> dict[str, torch.Tensor]:
    """The pretrained weights of a backbone, named as in NERModel."""
    from .backbones import load_backbone

    encoder, _ = load_backbone(name)
    return {f"encoder.model.{k}": v for k, v in encoder.state_dict().items()}


# tokenizers that report "no limit" use a huge sentinel for model_max_length
_NO_LIMIT = 1_000_000


class AnyNER:
    """An open-type NER model: entity types are given as plain words at call time."""

    def __init__(self, model: NERModel, tokenizer):
        self.model = model
        self.tokenizer = tokenizer
        self.config: ModelConfig = model.config
        builder = PromptBuilder(
            tokenizer.backend_tokenizer, self.config.ent_token, self.config.sep_token, self._max_tokens()
        )
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._predictor = Predictor(model, builder, pad_id)

    def _max_tokens(self) -> int:
        if self.config.max_tokens is not None:
            return self.config.max_tokens
        limits = [getattr(self.model.encoder.model.config, "max_position_embeddings", 512)]
        if 0 < (self.tokenizer.model_max_length or 0) < _NO_LIMIT:
            limits.append(self.tokenizer.model_max_length)
        else:  # RoBERTa-style position ids start after the padding index
            limits.append(limits[0] - 2)
        return min(limits)

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path: str | Path) -> AnyNER:
        folder = Path(path)
        if not folder.is_dir():
            # "org/name" that is no local folder is probably a hub name: say how to get it
            hub = str(path).count("/") == 1 and not str(path).startswith((".", "/", "~"))
            hint = (
                "; anyner loads local folders: get a hub model with huggingface-cli download" if hub else ""
            )
            raise CheckpointError(f"model folder {str(path)!r} does not exist{hint}")
        if is_native(folder):
            config, state, tokenizer = read_native(folder)
        elif is_gliner(folder):
            config, state, tokenizer = read_gliner(folder)
        else:
            raise CheckpointError(
                f"{folder} is not a model folder: it has neither anyner_config.json (anyner) "
                "nor gliner_config.json (the gliner library)"
            )
        try:
            backbone = build_backbone(config.encoder)
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{folder}: cannot rebuild the encoder from its saved config: {exc}"
            ) from exc
        model = NERModel(config, backbone)
        if config.base is not None:
            state = delta.decode(state, _backbone_state(config.base), model.state_dict())
        load_strict(model, state, folder)
        if (folder / lora.ADAPTER_DIR).is_dir():
            model.encoder.model = lora.load_adapter(model.encoder.model, folder)
        return cls(model.eval(), tokenizer)

    @classmethod
    def from_backbone(cls, backbone: str | Path, **config) -> AnyNER:
        """A new model with pretrained encoder weights and freshly initialised heads, ready for
        training. ``config`` takes :class:`ModelConfig` fields (``architecture``, ``max_width``…)."""
        from .backbones import load_backbone

        encoder, tokenizer = load_backbone(str(backbone))
        cfg = ModelConfig(**{"hidden_size": encoder.config.hidden_size, **config, "backbone": str(backbone)})
        tokenizer.add_tokens(
            [AddedToken(t, special=True, normalized=False) for t in (cfg.ent_token, cfg.sep_token)]
        )
        encoder.resize_token_embeddings(len(tokenizer))
        cfg = ModelConfig(**{**cfg.to_dict(), "encoder": encoder.config.to_dict()})
        return cls(NERModel(cfg, encoder), tokenizer)

    def save(self, path: str | Path, base: str | None = None) -> None:
        """Write a folder that :func:`anyner.load` reads back (safetensors weights).

        With ``base`` (a backbone name that resolves offline, e.g. "all-MiniLM-L6-v2"), only
        what differs from that backbone is stored, in half precision: a much smaller folder
        that needs the backbone's package installed to load.
        """
        encoder = self.model.encoder.model
        adapter = lora.is_lora(encoder)
        if adapter:  # the adapter goes to its own folder; the heads are stored over the base
            base = base or self.config.backbone
            state = {k: v for k, v in self.model.state_dict().items() if not k.startswith("encoder.model.")}
        else:
            state = self.model.state_dict()
        config = ModelConfig(**{**self.config.to_dict(), "encoder": encoder.config.to_dict(), "base": base})
        if base is not None:
            state = delta.encode(state, _backbone_state(base))
        extra = (lambda tmp: lora.save_adapter(encoder, tmp)) if adapter else None
        write_native(Path(path), config, state, self.tokenizer, extra)

    # -- prediction -------------------------------------------------------------------
    def predict_entities(
        self,
        text: str,
        labels: LabelsArg,
        threshold: float = 0.5,
        flat_ner: bool = True,
        multi_label: bool = False,
    ) -> list[dict]:
        """Entities in ``text`` as ``{"start", "end", "text", "label", "score"}`` dicts, with
        character offsets (end exclusive) into ``text``."""
        return self.batch_predict_entities([text], labels, threshold, flat_ner, multi_label)[0]

    def batch_predict_entities(
        self,
        texts: Sequence[str],
        labels: LabelsArg | Sequence[LabelsArg],
        threshold: float = 0.5,
        flat_ner: bool = True,
        multi_label: bool = False,
        batch_size: int = 8,
    ) -> list[list[dict]]:
        """Entities for each text. ``labels`` is shared by all texts, or one list per text."""
        if isinstance(texts, str):
            raise InputError("texts must be a list of strings; for one text use predict_entities")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is a {type(text).__name__}, not a string")
        threshold = check_threshold(threshold)
        if not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        labelsets = self._labelsets(texts, labels)
        with torch.inference_mode():
            return self._predictor.predict(texts, labelsets, threshold, flat_ner, multi_label, batch_size)

    @staticmethod
    def _labelsets(texts: list[str], labels) -> list[LabelSet]:
        per_text = (
            isinstance(labels, Sequence)
            and not isinstance(labels, str)
            and len(labels) > 0
            and all(isinstance(x, Sequence | Mapping) and not isinstance(x, str) for x in labels)
        )
        if not per_text:
            return [parse_labels(labels)] * len(texts)
        if len(labels) != len(texts):
            raise InputError(
                f"got {len(labels)} label lists for {len(texts)} texts: "
                "give one list per text, or one shared list"
            )
        return [parse_labels(x) for x in labels]

    def __repr__(self) -> str:
        c = self.config
        return f"AnyNER(architecture={c.architecture.value}, backbone={c.backbone!r})"
