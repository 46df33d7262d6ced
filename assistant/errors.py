"""Errors a user can act on, in a module of their own: the CLI catches them without importing
what raises them (the LLM generators import LangChain's chat models, seconds of start-up)."""


class GeneratorError(RuntimeError):
    """A generator that cannot answer (server down, extra missing); the message says why, in one line."""


class LoadError(Exception):
    """A file that cannot be turned into text; the message says why, for the user."""


class NoDocuments(RuntimeError):
    """The documents folder is missing or holds nothing readable: say so, instead of "the
    documents do not answer"; the message names the folder and the setting."""


class StoreUnreachable(RuntimeError):
    """The Chroma server cannot be reached; the message names its URL and what to check."""
