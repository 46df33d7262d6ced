"""Parts looked up by name: the setting names a part, this table names the code that makes it.

Each entry is ``"module:factory"``, imported only when that part is made, so choosing the
extractive answerer never imports LangChain's chat models and the ONNX embedder never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocols import Embedder, Generator
    from .settings import Settings

# settings.embedding.backend -> factory(settings) -> Embedder
EMBEDDERS = {
    "onnx": "assistant.onnx_embeddings:OnnxEmbedder.from_settings",
    "onnx-int8": "assistant.onnx_embeddings:OnnxEmbedder.int8_from_settings",
    "torch": "assistant.embeddings:SentenceTransformerEmbedder.from_settings",
}
# settings.answerer.generator -> factory(settings, embedder) -> Generator
GENERATORS = {
    "extractive": "assistant.answering:ExtractiveGenerator",
    "ollama": "assistant.llm:make_llm_generator",
    "openai": "assistant.llm:make_llm_generator",
    "llamacpp": "assistant.llm:make_llm_generator",
}


def lookup(table: dict[str, str], name: str, what: str) -> Callable[..., Any]:
    """The factory registered under ``name``; ValueError naming the known ones otherwise."""
    try:
        module, path = table[name].split(":")
    except KeyError:
        raise ValueError(f"no {what} is called {name!r} (known: {', '.join(sorted(table))})") from None
    target: Any = import_module(module)
    for attribute in path.split("."):
        target = getattr(target, attribute)
    return target


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named by ``settings.embedding.backend`` (its model is not loaded yet)."""
    return lookup(EMBEDDERS, settings.embedding.backend, "embedding backend")(settings)


def make_generator(settings: Settings, embedder: Embedder | None = None) -> Generator:
    """The answer generator named by ``settings.answerer.generator``."""
    return lookup(GENERATORS, settings.answerer.generator, "generator")(settings, embedder)
