"""Errors a user can act on, in a module of their own: the CLI catches them without importing
what raises them (the LLM generators import LangChain's chat models, seconds of start-up)."""


class GeneratorError(RuntimeError):
    """A generator that cannot answer (server down, extra missing); the message says why, in one line."""


class LoadError(Exception):
    """A file that cannot be turned into text; the message says why, for the user."""
