"""The adapter half of the model facade: adapt, select, save, load, delete (mixed into AnyNER)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from .config import AdaptSettings
from .manifest import AdapterManifest, check_name
from .support import SupportArg, read_support, support_labels

if TYPE_CHECKING:
    from .store import AdapterStore


class _Active:
    """The default of ``adapter=``: the adapter set_adapter chose (None, the base model, until then)."""

    def __repr__(self) -> str:
        return "<the active adapter>"


ACTIVE = _Active()


AUTO = "auto"  # adapter="auto": each text goes where the router sends it
ADAPTERS_DIR, ROUTER_DIR = "adapters", "router"  # in a model folder: loaded with it


class AdapterMixin:
    _store: AdapterStore | None = None
    _active_adapter: str | None = None
    _router = None

    def _adapter_store(self) -> AdapterStore:
        if self.model is None:
            raise InputError(
                "adapters need the model's torch weights, and this model was loaded from an ONNX "
                "export: load the weights folder it was exported from"
            )
        if self._store is None:
            from .runner import AdapterRunners
            from .store import AdapterStore

            self._store = AdapterStore(self.model)
            self._predictor.adapters = AdapterRunners(self, self._store)
        return self._store

    def adapt(
        self,
        support: SupportArg,
        name: str,
        method: str = "auto",
        labels: Sequence[str] | None = None,
        *,
        settings: AdaptSettings | None = None,
        evaluate: bool = True,
        verbose: bool = False,
    ):
        """Fit adapter ``name`` on ``support`` (a data file, or a list of GLiNER word records or
        character-offset records) and add it to this model; the base model does not change.

        ``method``: "prototype" (no gradient step, seconds), "lora" (LoRA with the
        boundary-aware contrastive loss), "lorahub" (a composition of the library's domain
        adapters, found without gradients), "all" (LoRA, then prototypes), or "auto" (the best of
        them by cross-validation on the support set, or "none", the base model kept as it is,
        when none of them beats it there). ``labels``: by default the support's.
        ``evaluate``: score the method on held-out support folds for the report (auto always
        does). Returns an :class:`~anyner.adapters.methods.AdaptReport`."""
        from .methods import AdaptContext, adapt

        check_name(name)
        store = self._adapter_store()
        if name in store.adapters:
            raise InputError(f"an adapter named {name!r} exists already: delete_adapter({name!r}) first")
        examples = read_support(support)
        found = support_labels(examples)
        if labels is None:
            labels = found
        else:
            labels = list(dict.fromkeys(labels))
            missing = [x for x in labels if x not in found]
            if missing:
                raise InputError(
                    f"label(s) {missing} have no example in the support set: add examples of them, "
                    "or leave them out of labels"
                )
            examples = [
                ex.__class__(ex.words, [s for s in ex.spans if s[2] in labels], ex.id) for ex in examples
            ]
        log = print if verbose else (lambda message: None)
        ctx = AdaptContext(self, store, list(labels), settings or AdaptSettings(), log)
        with self._predictor.adapters.on_torch():
            return adapt(ctx, name, method, examples, evaluate)

    @property
    def adapters(self) -> Mapping[str, AdapterManifest]:
        """The adapters on this model, by name: what each was fitted on and how."""
        if self._store is None:
            return {}
        return {name: a.manifest for name, a in self._store.adapters.items()}

    @property
    def active_adapter(self) -> str | None:
        return self._active_adapter

    def set_adapter(self, name: str | None) -> None:
        """The adapter later calls use by default (None: the base model; "auto": the router's choice)."""
        if name == AUTO and self._router is None:
            raise InputError("set_adapter('auto') needs a router: set_router(...) first")
        if name is not None and name != AUTO:
            self._adapter_store().get(name)
        self._active_adapter = name

    def save_adapter(self, name: str, folder: str | Path) -> None:
        self._adapter_store().save(name, Path(folder))

    def load_adapter(self, folder: str | Path, name: str | None = None) -> str:
        """Add the adapter saved in ``folder``; returns its name (``name``, else its own)."""
        return self._adapter_store().load(Path(folder), name)

    def delete_adapter(self, name: str) -> None:
        self._adapter_store().delete(name)
        self._predictor.adapters.forget(name)
        if self._active_adapter == name:
            self._active_adapter = None

    # -- routing (RetrieveAll) ------------------------------------------------------------
    @property
    def router(self):
        return self._router

    def set_router(self, router) -> None:
        """A :class:`~anyner.adapters.router.Router` over this model's sentence vectors; with it,
        ``adapter="auto"`` sends each text to the adapter its nearest labelled examples belong to."""
        if router is not None and router.dim != self.config.hidden_size:
            raise InputError(
                f"this router's bank holds {router.dim}-dimensional vectors and this model makes "
                f"{self.config.hidden_size}: build the router with this model"
            )
        self._router = router

    def build_router(self, texts: Sequence[str], adapters: Sequence[str], settings=None):
        """A router whose bank holds this model's sentence vectors of ``texts``, each tagged
        with the adapter it belongs to (``router.BASE_TAG``: the shared base); it becomes this
        model's router, and is returned (``router.save(folder)`` keeps it)."""
        from .embedding import sentence_vectors
        from .router import Router, RouterSettings

        settings = settings or RouterSettings()
        if len(texts) != len(adapters):
            raise InputError(f"got {len(adapters)} adapter tags for {len(texts)} texts: give one per text")
        router = Router.build(lambda t: sentence_vectors(self, t, settings.layers), texts, adapters, settings)
        self.set_router(router)
        return router

    def route(self, texts: Sequence[str]) -> list[dict]:
        """Where ``adapter="auto"`` sends each text: ``{"adapter": name or None, "confidence"}``
        (None: the shared base: nothing in the bank was close enough, the adapter it points to
        is not loaded, or the text is empty)."""
        return [r.to_dict() for r in self._routes(list(texts))]

    def _routes(self, texts: list[str]):
        from .embedding import sentence_vectors
        from .router import Route

        if self._router is None:
            raise InputError(
                "adapter='auto' and route() need a router, and this model has none: pass an adapter "
                "name, or set_router(...)"
            )
        self._adapter_store()
        vectors = sentence_vectors(self, texts, self._router.settings.layers)
        routes = self._router.route(vectors, empty=[not t.strip() for t in texts])
        loaded = self.adapters
        return [r if r.adapter is None or r.adapter in loaded else Route(None, 0.0) for r in routes]

    def _attach(self, folder: Path) -> None:
        """Adapters and a router saved inside a model folder come with it."""
        from .router import Router

        if (folder / ADAPTERS_DIR).is_dir():
            for sub in sorted(p for p in (folder / ADAPTERS_DIR).iterdir() if p.is_dir()):
                self.load_adapter(sub)
        if (folder / ROUTER_DIR).is_dir():
            self.set_router(Router.load(folder / ROUTER_DIR, self.config.hidden_size))
            self._active_adapter = AUTO

    def adapters_for(self, texts: Sequence[str], adapter=ACTIVE) -> list[str | None]:
        """Per text, the adapter ``batch_predict_entities(texts, ..., adapter=adapter)`` runs it
        with: "auto" (for every text, or in a per-text list) resolved by the router, None for
        the shared base."""
        chosen = self._adapters_for(adapter, list(texts))
        return [None] * len(texts) if chosen is None else chosen

    def _adapters_for(self, adapter, texts) -> list[str | None] | None:
        """Per text, the adapter it runs with (None everywhere: the base path, untouched)."""
        count = len(texts)
        if adapter is ACTIVE:
            adapter = self._active_adapter
        if adapter is None:
            return None
        names = [adapter] * count if isinstance(adapter, str) else list(adapter)
        if len(names) != count:
            raise InputError(
                f"got {len(names)} adapter names for {count} texts: give one per text, or one name"
            )
        for n in dict.fromkeys(names):
            if n is not None and n != AUTO:
                self._adapter_store().get(n)
        routed = [i for i, n in enumerate(names) if n == AUTO]  # "auto": the router places the text
        if routed:
            for i, route in zip(routed, self._routes([_plain(texts[i]) for i in routed]), strict=True):
                names[i] = route.adapter
        return names


def _plain(text) -> str:
    """A text as the router reads it (pre-split words are joined by spaces)."""
    return text if isinstance(text, str) else " ".join(text.words)
