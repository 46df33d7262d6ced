"""Chat history and follow-up questions.

Without an LLM, a follow-up ("What did he co-author?") is made standalone for retrieval by
carrying the previous question along; support is still judged on the new question's own words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .lexical import normalize, tokens

if TYPE_CHECKING:
    from .pipeline import Assistant
    from .types import Answer

_REFERRING = {
    "he", "she", "it", "they", "him", "her", "his", "hers", "its", "their", "them", "this", "that",
    "these", "those", "there", "then", "same", "former", "latter",
}


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
    words = set(normalize(question).replace("?", " ").split())
    return bool(words & _REFERRING) or len(tokens(question)) <= 2


def standalone_query(question: str, history) -> str:
    """The retrieval query for ``question`` asked after ``history``."""
    turns = as_turns(history)
    if not turns or not is_follow_up(question):
        return question
    return f"{turns[-1].question} {question}"


@dataclass
class ChatSession:
    """A conversation: each question is asked with the turns before it."""

    assistant: Assistant
    turns: list[Turn] = field(default_factory=list)

    def ask(self, question: str) -> Answer:
        answer = self.assistant.ask(question, history=self.turns)
        self.turns.append(Turn(question, answer.answer))
        return answer
