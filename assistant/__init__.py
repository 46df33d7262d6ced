"""A grounded document chat assistant: answers only from your documents, with verbatim quotes."""

from .settings import Settings
from .types import Answer, Chunk, Document, Passage, Quote

__all__ = ["Answer", "Assistant", "Chunk", "Document", "Passage", "Quote", "Settings"]


def __getattr__(name: str):
    # Lazy, so `assistant --help` and `from assistant import Settings` stay fast.
    if name == "Assistant":
        from .pipeline import Assistant

        return Assistant
    raise AttributeError(name)
