"""The model users hold: predict_entities, batch_predict_entities, save.

Importing this module needs no torch: a model exported to ONNX runs with onnxruntime,
tokenizers and numpy alone. torch comes in when a torch model is built or run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .adapters.facade import ACTIVE, ADAPTERS_DIR, AdapterMixin
from .checkpoints.onnx import is_onnx, read_onnx
from .config import ModelConfig
from .errors import AnyNERError, CheckpointError, InputError
from .options import DecodeOptions
from .pipeline import Predictor
from .runtime.auto import IN_CODE, WITH_ADAPTERS, WeightsStamp, note_once, weights_stamp
from .runtime.batching import DEFAULT_BATCH_TOKENS
from .runtime.cpu import cpu_info
from .runtime.options import RuntimeOptions, resolve_options
from .text.label_tokens import LabelTokenizer
from .text.labels import LabelsArg, LabelSet, LabelVectors, parse_labels
from .text.prompt import PromptBuilder
from .text.words import Words, readable

if TYPE_CHECKING:
    from .model.model import NERModel

# tokenizers that report "no limit" use a huge sentinel for model_max_length
_NO_LIMIT = 1_000_000


class AnyNER(AdapterMixin):
    """An open-type NER model: entity types are given as plain words at call time.

    ``model`` is the torch network and ``tokenizer`` its Hugging Face tokenizer; both are None
    for a model loaded from an ONNX export. ``precision``, ``runtime`` and ``threads``: see
    :func:`anyner.load`.
    """

    def __init__(
        self,
        model: NERModel,
        tokenizer,
        *,
        precision: str | None = "auto",
        runtime: str | None = None,
        threads: int | None = None,
        labels_tokenizer=None,
    ):
        # auto on a model built in code: torch (its weights may be trained; an export would go stale)
        options = resolve_options(precision, runtime, threads, torch_only=IN_CODE)
        self._build(model, tokenizer, options, labels_tokenizer)

    def _build(self, model: NERModel, tokenizer, options: RuntimeOptions, labels_tokenizer=None) -> None:
        """``labels_tokenizer``: a bi-encoder's label tokenizer (a ``tokenizers.Tokenizer``)."""
        config: ModelConfig = model.config
        builder = PromptBuilder(
            tokenizer.backend_tokenizer,
            config.ent_token,
            config.sep_token,
            _max_tokens(model, tokenizer),
            vocab_size=config.encoder.get("vocab_size"),
        )
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        labels = LabelTokenizer(labels_tokenizer) if labels_tokenizer is not None else None
        self._setup(model, tokenizer, options, Predictor(builder, pad_id, config, labels_tokenizer=labels))
        self._predictor.runner = self._torch_model_runner()

    def _setup(self, model, tokenizer, options: RuntimeOptions, predictor: Predictor) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config: ModelConfig = predictor.config
        self.options = options
        self._predictor = predictor
        self._exported_weights: WeightsStamp | None = None

    def _torch_model_runner(self):
        """torch, or onnxruntime over an export of this very model (cached, see cached_export).
        An export that auto picked and that cannot be made falls back to fp32 on torch."""
        o = self.options
        if o.runtime == "onnx":
            from .runtime.export import cached_export
            from .runtime.onnx_runner import onnx_folder_runner

            try:
                runner = onnx_folder_runner(cached_export(self, o.precision), self.config, o.threads)
            except (OSError, AnyNERError) as exc:
                if not o.auto:
                    raise
                return self._fall_back(f"the ONNX export failed ({exc})")
            self._exported_weights = weights_stamp(self.model)
            return runner
        from .runtime.torch_runner import TorchRunner

        if o.precision == "bf16" and not cpu_info().native_bf16:
            note_once(
                "precision='bf16' on a CPU without native bf16 (AVX512-BF16 or AMX-BF16): it runs, "
                "emulated and slower than fp32; precision='auto' picks this CPU's fastest path"
            )
        return TorchRunner(self.model, bf16=o.precision == "bf16", threads=o.threads)

    def _fall_back(self, why: str):
        """precision="auto" on fp32 torch instead of the export it picked, said once."""
        _note_fallback(why)
        self.options = RuntimeOptions("fp32", "torch", self.options.threads, why, auto=True)
        self._exported_weights = None
        return self._torch_model_runner()

    def _check_export_is_current(self) -> None:
        """An export auto picked is a copy of the torch weights: once they change (training),
        the torch model runs instead."""
        if self._exported_weights is not None and self._exported_weights != weights_stamp(self.model):
            self._predictor.runner = self._fall_back("the torch weights changed since they were exported")

    @property
    def precision(self) -> str:
        return self.options.precision

    @property
    def runtime(self) -> str:
        return self.options.runtime

    @property
    def reason(self) -> str:
        """Why this precision and runtime: "asked for", or the rule ``precision="auto"`` followed."""
        return self.options.reason

    # -- construction -----------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | Path,
        *,
        precision: str | None = "auto",
        runtime: str | None = None,
        threads: int | None = None,
    ) -> AnyNER:
        """Load a model folder: anyner weights, a gliner checkpoint, or an ONNX export (see
        :func:`anyner.load` for the options)."""
        folder = Path(path)
        if folder.is_file():
            raise CheckpointError(
                f"{str(path)!r} is a file; anyner loads a model folder: pass the folder that holds it"
            )
        if not folder.is_dir():
            # "org/name" that is no local folder is probably a hub name: say how to get it
            hub = str(path).count("/") == 1 and not str(path).startswith((".", "/", "~"))
            hint = (
                "; anyner loads local folders: get a hub model with huggingface-cli download" if hub else ""
            )
            raise CheckpointError(f"model folder {str(path)!r} does not exist{hint}")
        if is_onnx(folder):
            return cls._from_onnx(folder, precision, runtime, threads)
        torch_only = WITH_ADAPTERS if (folder / ADAPTERS_DIR).is_dir() else None
        # bad options fail before the slow part
        options = resolve_options(precision, runtime, threads, torch_only=torch_only)
        from .checkpoints.torch_model import read_model

        if options.auto and options.runtime == "torch" and torch_only is None:  # a package is missing
            _note_fallback(options.reason)
        model, tokenizer, labels_tokenizer = read_model(folder)
        ner = cls.__new__(cls)
        ner._build(model, tokenizer, options, labels_tokenizer)
        ner._attach(folder)
        return ner

    @classmethod
    def _from_onnx(cls, folder: Path, precision, runtime, threads) -> AnyNER:
        """An exported folder runs on onnxruntime alone: no torch is imported."""
        from .runtime.onnx_runner import onnx_folder_runner

        config, info, tokenizer, labels_tokenizer = read_onnx(folder)
        options = resolve_options(precision, runtime, threads, exported=info.precision)
        if options.runtime != "onnx" or options.precision != info.precision:
            raise InputError(
                f"{folder} is an ONNX export in {info.precision}: it runs with runtime='onnx', "
                f"precision={info.precision!r}; for {options.precision} on {options.runtime}, load the "
                "weights folder it was exported from"
            )
        vocab = config.encoder.get("vocab_size")
        builder = PromptBuilder(tokenizer, config.ent_token, config.sep_token, config.max_tokens, vocab)
        labels = LabelTokenizer(labels_tokenizer) if labels_tokenizer is not None else None
        runner = onnx_folder_runner(folder, config, threads)
        ner = cls.__new__(cls)
        ner._setup(None, None, options, Predictor(builder, info.pad_id, config, runner, labels))
        return ner

    @classmethod
    def from_backbone(
        cls, backbone: str | Path, *, labels_backbone: str | Path | None = None, **config
    ) -> AnyNER:
        """A new model with pretrained encoder weights and freshly initialised heads, ready for
        training. ``config`` takes :class:`ModelConfig` fields (``variant``, ``max_width``…).
        A two-stage variant ("bi-span", "bi-token") also gets a label encoder: ``labels_backbone``,
        by default the same encoder as the text's (its own copy of the weights)."""
        from .backbones import add_markers, load_backbone
        from .variants import get_variant

        encoder, tokenizer = load_backbone(str(backbone))
        cfg = ModelConfig(**{"hidden_size": encoder.config.hidden_size, **config, "backbone": str(backbone)})
        variant = get_variant(cfg.variant)
        # the markers are known to every tokenizer (a bi-encoder's text never holds them: they
        # are read as unknown words there, as the embedding table keeps its size)
        add_markers(tokenizer, (cfg.ent_token, cfg.sep_token))
        if variant.encoding.uses_markers:
            encoder.resize_token_embeddings(len(tokenizer))
        labels_encoder = labels_tok = None
        if variant.two_stage:
            labels_encoder, labels_hf = load_backbone(str(labels_backbone or backbone))
            labels_tok = labels_hf.backend_tokenizer
        extra = {"labels_encoder": labels_encoder.config.to_dict()} if labels_encoder is not None else {}
        cfg = ModelConfig(**{**cfg.to_dict(), "encoder": encoder.config.to_dict(), **extra})
        return cls(variant.build_model(cfg, encoder, labels_encoder), tokenizer, labels_tokenizer=labels_tok)

    def save(self, path: str | Path, base: str | None = None) -> None:
        """Write a folder that :func:`anyner.load` reads back (safetensors weights).

        With ``base`` (a backbone name that resolves offline, e.g. "all-MiniLM-L6-v2"), only
        what differs from that backbone is stored, in half precision: a much smaller folder
        that needs the backbone's package installed to load.
        """
        if self.model is None:
            raise InputError(
                "this model was loaded from an ONNX export, which holds no torch weights to save: "
                "copy its folder instead"
            )
        from .checkpoints import delta
        from .checkpoints.labels_tokenizer import write_labels_tokenizer
        from .checkpoints.native import write_native
        from .model import lora

        encoder = self.model.encoder.model
        adapter = lora.is_lora(encoder)
        if adapter:  # the adapter goes to its own folder; the heads are stored over the base
            base = base or self.config.backbone
            state = {k: v for k, v in self.model.state_dict().items() if not k.startswith("encoder.model.")}
        else:
            state = self.model.state_dict()
        config = ModelConfig(**{**self.config.to_dict(), "encoder": encoder.config.to_dict(), "base": base})
        if base is not None:
            from .checkpoints.torch_model import backbone_state

            state = delta.encode(state, backbone_state(base))
        labels_tokenizer = self._predictor.labels_tokenizer

        def extra(tmp: Path) -> None:
            if adapter:
                lora.save_adapter(encoder, tmp)
            if labels_tokenizer is not None:
                write_labels_tokenizer(labels_tokenizer.tokenizer, tmp)

        write_native(Path(path), config, state, self.tokenizer, extra)

    def export_onnx(self, path: str | Path, precision: str = "fp32", adapter: str | None = None) -> Path:
        """Write an ONNX export of this model: a folder that :func:`anyner.load` runs with
        onnxruntime, tokenizers and numpy, without torch. ``precision``: "fp32" or "int8".
        ``adapter``: export the model with this LoRA adapter merged in."""
        from .runtime.export import export_onnx

        model = self._adapter_store().merged(adapter) if adapter is not None else None
        return export_onnx(self, path, precision, model)

    # -- prediction -------------------------------------------------------------------
    def predict_entities(
        self,
        text: str,
        labels: LabelsArg,
        threshold: float = 0.5,
        flat_ner: bool = True,
        multi_label: bool = False,
        adapter=ACTIVE,
    ) -> list[dict]:
        """Entities in ``text`` as ``{"start", "end", "text", "label", "score"}`` dicts, with
        character offsets (end exclusive) into ``text``."""
        return self.batch_predict_entities([text], labels, threshold, flat_ner, multi_label, adapter=adapter)[
            0
        ]

    def batch_predict_entities(
        self,
        texts: Sequence[str],
        labels: LabelsArg | Sequence[LabelsArg],
        threshold: float = 0.5,
        flat_ner: bool = True,
        multi_label: bool = False,
        batch_size: int = 8,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        adapter=ACTIVE,
    ) -> list[list[dict]]:
        """Entities for each text. ``labels`` is shared by all texts, or one list per text.

        Texts are cut into encoder passes (a window of a text with a group of its labels),
        sorted by length and batched: a forward call takes at most ``batch_size`` passes and at
        most ``batch_tokens`` padded tokens (passes × longest pass), so short texts share a call
        while long windows fill one; the results do not depend on either.

        ``adapter``: the name of an adapter on this model (see :meth:`adapt`), one name per
        text, or None for the base model; by default the one :meth:`set_adapter` chose.
        """
        if isinstance(texts, str):
            raise InputError("texts must be a list of strings; for one text use predict_entities")
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"text {i} is a {type(text).__name__}, not a string")
        options = DecodeOptions(threshold, flat_ner, multi_label, batch_size, batch_tokens)
        labelsets = self._labelsets(texts, labels)
        adapters = self._adapters_for(adapter, texts)
        self._check_export_is_current()
        read = [readable(text) for text in texts]
        found = self._predictor.predict(read, labelsets, options, adapters)
        return [_quoting(t, r, ents) for t, r, ents in zip(texts, read, found, strict=True)]

    def batch_predict_words(
        self,
        texts: Sequence[Sequence[str]],
        labels: LabelsArg | Sequence[LabelsArg],
        threshold: float = 0.5,
        flat_ner: bool = True,
        multi_label: bool = False,
        batch_size: int = 8,
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
        adapter=ACTIVE,
    ) -> list[list[tuple[int, int, str, float]]]:
        """Entities of texts given as lists of words (pre-tokenized data, as in evaluation), each
        as ``(first word, last word inclusive, label, score)``. Options as in
        :meth:`batch_predict_entities`."""
        if isinstance(texts, str):
            raise InputError("texts must be a list of texts, each a list of words")
        docs = []
        for i, words in enumerate(texts):
            if (
                not isinstance(words, Sequence)
                or isinstance(words, str)
                or not all(isinstance(w, str) for w in words)
            ):
                raise InputError(f"text {i} must be a list of words (strings), got {words!r:.80}")
            docs.append(_joined([readable(w) for w in words]))
        options = DecodeOptions(threshold, flat_ner, multi_label, batch_size, batch_tokens)
        labelsets = self._labelsets(docs, labels)
        adapters = self._adapters_for(adapter, docs)
        self._check_export_is_current()
        found = self._predictor.predict_words(docs, labelsets, options, adapters)
        return [
            [(s, e, ls.names[c], score) for s, e, c, score in spans]
            for ls, spans in zip(labelsets, found, strict=True)
        ]

    def _labelsets(self, texts: list, labels) -> list[LabelSet]:
        control = self._predictor.builder.control_tokens
        per_text = (
            isinstance(labels, Sequence)
            and not isinstance(labels, str)
            and len(labels) > 0
            and all(isinstance(x, Sequence | Mapping | LabelSet) and not isinstance(x, str) for x in labels)
        )
        if not per_text:
            return [self._labelset(labels, control)] * len(texts)
        if len(labels) != len(texts):
            raise InputError(
                f"got {len(labels)} label lists for {len(texts)} texts: "
                "give one list per text, or one shared list"
            )
        return [self._labelset(x, control) for x in labels]

    def _labelset(self, labels, control) -> LabelSet:
        if isinstance(labels, LabelSet):  # vectors from encode_labels
            if labels.vectors is not None and labels.vectors.shape[1] != self.config.hidden_size:
                raise InputError(
                    f"these label vectors have {labels.vectors.shape[1]} dimensions; this model's have "
                    f"{self.config.hidden_size}: encode the labels with this model"
                )
            return labels
        return parse_labels(labels, control)

    # -- the label stage (bi-encoders) --------------------------------------------------
    def encode_labels(self, labels: LabelsArg) -> LabelVectors:
        """Label vectors, computed once: pass the result in place of the labels to
        :meth:`batch_predict_entities` (and the other predict methods). Plain calls with label
        texts reuse vectors too (a bounded cache keyed by the text the label encoder reads).
        Only bi-encoders have a label stage; a uni-encoder reads labels with the text."""
        parsed = parse_labels(labels, self._predictor.builder.control_tokens)
        self._check_export_is_current()
        vectors = self._predictor.encode_labels(parsed.prompts).astype(np.float32)
        return LabelVectors(parsed.names, parsed.prompts, vectors)

    @property
    def variant(self) -> str:
        return self.config.variant

    @property
    def pipeline(self) -> Predictor:
        """The inference pipeline (prompt builder, label tokenizer, variant, runner): what the
        trainer, the exporter and the server build on."""
        return self._predictor

    def __repr__(self) -> str:
        c = self.config
        return (
            f"AnyNER(variant={c.variant}, backbone={c.backbone!r}, "
            f"precision={self.precision!r}, runtime={self.runtime!r})"
        )


def _note_fallback(why: str) -> None:
    note_once(f"precision='auto' runs fp32 on torch: {why}")


def _max_tokens(model: NERModel, tokenizer) -> int:
    """Encoder positions per pass: the config's, else the least of the encoder's and tokenizer's."""
    if model.config.max_tokens is not None:
        return model.config.max_tokens
    limits = [getattr(model.encoder.model.config, "max_position_embeddings", 512)]
    if 0 < (tokenizer.model_max_length or 0) < _NO_LIMIT:
        limits.append(tokenizer.model_max_length)
    else:  # RoBERTa-style position ids start after the padding index
        limits.append(limits[0] - 2)
    return min(limits)


def _quoting(text: str, read: str, entities: list[dict]) -> list[dict]:
    """Entities found in ``read = readable(text)``, quoting ``text`` (the offsets are the same)."""
    if read == text:
        return entities
    return [{**e, "text": text[e["start"] : e["end"]]} for e in entities]


def _joined(words: Sequence[str]) -> Words:
    """Pre-split words, placed as if joined by single spaces."""
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    return Words(list(words), starts, [s + len(w) for s, w in zip(starts, words, strict=True)])
