"""Errors a user can act on, all in this module: the CLI and the app catch them without importing
what raises them (the LLM generators import LangChain's chat models, seconds of start-up). Each
message says what is wrong in one line, for the user."""


class BrokenIndex(RuntimeError):
    """The index on disk cannot be used; the message tells the user how to recover."""


class CaseError(ValueError):
    """An eval case file that cannot be used as it is; the message names the file and the entry."""


class GeneratorError(RuntimeError):
    """A generator that cannot answer (server down, extra missing); the message says why."""


class IndexUnavailable(RuntimeError):
    """No index this instance can use as it is set up: the documents folder, the Chroma server or
    the index itself is not what the settings say. One class, so every caller that turns these into
    one line catches them all, including any added later."""


class IndexConflict(IndexUnavailable):
    """An index that works, but not for this instance as it is set up (another embedding model,
    another documents folder); the message says what to change, or to rebuild."""


class LoadError(Exception):
    """A file that cannot be turned into text; the message says why."""


class NoDocuments(IndexUnavailable):
    """The documents folder is missing or holds nothing readable: say so, instead of "the
    documents do not answer"; the message names the folder and the setting."""


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message says why."""


class StoreUnreachable(IndexUnavailable):
    """The Chroma server cannot be reached; the message names its URL and what to check."""


class UploadError(ValueError):
    """An upload that was refused; the message says why."""


def needs_extra(part: str, extra: str) -> str:
    """The one-line message for an optional part whose extra is not installed."""
    return f"{part} needs the {extra} extra: pip install -e '.[{extra}]' in a checkout, or pip install 'grounded-assistant[{extra}]'"
