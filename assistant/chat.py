"""Chat history and follow-up questions.

Without an LLM, a follow-up ("What did he co-author?") is made standalone for retrieval by
carrying the previous question along; support is judged on the new question's own words, with a
personal pronoun replaced by the person the last turn was about ("What did Kellogg co-author?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .folding import fold
from .lexical import tokens
from .lexicon import word_list

if TYPE_CHECKING:
    from .pipeline import Assistant
    from .types import Answer

# Words that point back to something said before: a follow-up, or a sentence continuing the last one.
REFERRING = word_list("referring")


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str = ""


def as_turns(history) -> list[Turn]:
    """Accept earlier questions as strings, {"question", "answer"} dicts or chat messages."""
    turns: list[Turn] = []
    for item in history or []:
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, str):
            turns.append(Turn(item))
        elif isinstance(item, dict) and "question" in item:
            turns.append(Turn(str(item["question"]), str(item.get("answer", ""))))
        elif isinstance(item, dict) and item.get("role") == "user":
            turns.append(Turn(str(item.get("content", ""))))
        elif isinstance(item, dict) and item.get("role") == "assistant" and turns:
            turns[-1] = Turn(turns[-1].question, str(item.get("content", "")))
        else:
            raise ValueError(f"history entries must be strings or question/answer objects, not {item!r}")
    return turns


def is_follow_up(question: str) -> bool:
    words = set(fold(question).replace("?", " ").split())
    return bool(words & REFERRING) or len(tokens(question)) <= 2


def standalone_query(question: str, history) -> str:
    """The retrieval query for ``question`` asked after ``history``."""
    turns = as_turns(history)
    if not turns or not is_follow_up(question):
        return question
    return f"{turns[-1].question} {question}"


_PERSON = re.compile(r"\b(he|she|him|his|her)\b", re.IGNORECASE)
# Runs of capitalised words not opening a sentence: "General Keith Kellogg", "Dmitry Peskov".
_NAME_RUN = re.compile(r"(?<![.?!:] )(?<!^)\b([A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*)")
_PREPOSITION_AFTER = re.compile(r"\s*(?:[?.!,;:]|$|(?:to|for|with|about|from|by|in|on|at|of)\b)", re.IGNORECASE)


def _names(text: str) -> list[str]:
    return [run for run in _NAME_RUN.findall(text.strip()) if run.lower() not in REFERRING]


def referent(turn: Turn) -> str | None:
    """The person a follow-up's "he"/"she" most likely means: the one the last answer introduced
    ("Who is the Kremlin spokesman?" → "…spokesman Dmitry Peskov…" → Peskov), else the one the
    last question named. News style refers to people by surname, so that is what is returned."""
    asked = set(tokens(turn.question))
    for run in _names(turn.answer):
        if not set(tokens(run)) <= asked:
            return run.split()[-1]
    if re.match(r"\s*who\b", turn.question, re.IGNORECASE):
        return None  # "Who is the envoy?" unanswered: "he" is the unknown envoy, not a name in it
    named = _names(turn.question)
    return named[0].split()[-1] if named else None


def resolve_references(question: str, history) -> str:
    """``question`` with its personal pronouns replaced by the person the last turn was about."""
    turns = as_turns(history)
    if not turns or not _PERSON.search(question):
        return question
    name = referent(turns[-1])
    if name is None:
        return question

    def replace(match: re.Match) -> str:
        word = match.group(1).lower()
        if word == "his" or (word == "her" and not _PREPOSITION_AFTER.match(question, match.end())):
            return f"{name}'s"
        return name

    return _PERSON.sub(replace, question)


@dataclass
class ChatSession:
    """A conversation: each question is asked with the turns before it."""

    assistant: Assistant
    turns: list[Turn] = field(default_factory=list)

    def ask(self, question: str) -> Answer:
        answer = self.assistant.ask(question, history=self.turns)
        self.turns.append(Turn(question, answer.answer))
        return answer
