"""LLM answers behind the same ``Generator`` interface as the extractive answerer.

The model writes an answer and quotes with passage numbers (LCEL chain: number the passages →
prompt → chat model → text → parse). Its quotes are claims, not evidence: each is looked up in
the retrieved passages (``quotes.verify_claims``) and only what is found there, at exact
offsets, reaches the reader. When nothing survives, or the server fails, ``llm_fallback``
decides between the extractive answer and an abstention.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnablePassthrough
from pydantic import PrivateAttr, SecretStr

from .answering import NOT_FOUND, ExtractiveGenerator, not_held
from .chat import as_turns, standalone_query
from .claims import is_refusal, unsupported
from .corpus import Corpus
from .errors import GeneratorError, needs_extra
from .packaged_models import packaged_qwen
from .prompts import (
    ANSWER_LABEL,
    ANSWER_PROMPT,
    HISTORY_ANSWER_CHARS,
    NOT_FOUND_REPLY,
    PASSAGE,
    QUOTES_LABEL,
    REPLY_GRAMMAR,
    REWRITE_PROMPT,
    SENTENCE,
    SENTENCES_GRAMMAR,
    SENTENCES_LABEL,
    SENTENCES_PROMPT,
)
from .protocols import Embedder, Generator
from .quotes import verify_claims
from .settings import Settings
from .types import Answer, AnswerSpan, Claim, Passage, Quote

log = logging.getLogger(__name__)

DEFAULT_URLS = {"ollama": "http://127.0.0.1:11434", "openai": "http://127.0.0.1:8000/v1"}

_QUOTE_LINE = re.compile(r"^[ \t]*(?:[-*•][ \t]*)?\[(?:passage[ \t]*)?(\d+)\][ \t]*[:\-–—]?[ \t]*(\S.*?)[ \t]*$", re.I | re.M)
_QUOTES_MARK = re.compile(r"^[ \t*#]*" + QUOTES_LABEL[:-1] + r"[ \t*]*:", re.I | re.M)
_SENTENCES_MARK = re.compile(r"^[ \t*#]*" + SENTENCES_LABEL[:-1] + r"[ \t*]*:[ \t*]*(.*)$", re.I | re.M)
_ANSWER_MARK = re.compile(r"^\s*[*#]*\s*" + ANSWER_LABEL[:-1] + r"\s*\**\s*:\s*\**\s*", re.I)
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_PAIRS = {'"': '"', "“": "”", "'": "'", "‘": "’", "«": "»"}


@dataclass
class Reply:
    """A model's reply, parsed: the answer text and the quotes it claims."""

    answer: str
    claims: list[Claim] = field(default_factory=list)
    not_found: bool = False
    cited: list[int] = field(default_factory=list)  # the numbered sentences it cites (quotes=sentences)


@dataclass(frozen=True)
class Numbered:
    """The sentences a model reads with quotes=sentences, numbered from 1: what its citations point at."""

    quotes: list[Quote]

    def prompt(self) -> str:
        return "\n".join(
            SENTENCE.format(number=i, text=_defused(" ".join(q.text.split()))) + (f" ({_defused(q.section)})" if q.section else "")
            for i, q in enumerate(self.quotes, 1)
        )

    def cited(self, numbers: list[int]) -> tuple[list[Quote], int]:
        """The quotes cited, each once, in reading order, and how many numbers cited no sentence."""
        unique = list(dict.fromkeys(numbers))
        known = [n for n in unique if 1 <= n <= len(self.quotes)]
        return sorted((self.quotes[n - 1] for n in known), key=lambda q: (q.source, q.start)), len(unique) - len(known)


def number_passages(passages: list[Passage]) -> str:
    """The passages as numbered, fenced blocks; a tag inside a passage, or in its file's path,
    cannot end the fence."""
    return "\n\n".join(
        PASSAGE.format(number=i, source=_defused(p.chunk.source).replace('"', "'").replace("\n", " "), text=_defused(p.chunk.text))
        for i, p in enumerate(passages, 1)
    )


def _defused(text: str) -> str:
    return re.sub(r"</?(?:passage|sentences)", lambda m: m.group(0).replace("<", "‹"), text, flags=re.I)


def answer_chain(model: Runnable) -> Runnable:
    """{"question", "passages"} → the model's reply text: number the passages → prompt → model."""
    return RunnablePassthrough.assign(context=lambda x: number_passages(x["passages"])) | ANSWER_PROMPT | model | StrOutputParser()


def sentence_chain(model: Runnable) -> Runnable:
    """{"question", "numbered"} → the model's reply text: the numbered sentences → prompt → model."""
    return RunnablePassthrough.assign(context=lambda x: x["numbered"].prompt()) | SENTENCES_PROMPT | model | StrOutputParser()


def rewrite_chain(model: BaseChatModel) -> Runnable:
    """{"question", "history"} → a standalone question."""
    return REWRITE_PROMPT | model | StrOutputParser()


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and _PAIRS.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    if text[:1] in _PAIRS and _PAIRS[text[0]] not in text[1:]:
        return text[1:].strip()  # an opening mark whose closing one the model forgot
    return text


def answer_part(reply: str, final: bool = True) -> str:
    """The answer text of a reply, without its label and quote lines.

    While streaming (``final=False``) a trailing line that may still become the quotes label or
    a quote line is held back, so the reader never sees a half-written marker.
    """
    cut = len(reply)
    for pattern in (_QUOTES_MARK, _SENTENCES_MARK, _QUOTE_LINE):
        match = pattern.search(reply)
        if match:
            cut = min(cut, match.start())
    body = reply[:cut]
    if not final:
        head, newline, tail = body.rpartition("\n")
        stub = tail.strip(" \t*#-•").lower()
        if newline and (not stub or stub.startswith("[") or any(label.lower().startswith(stub) for label in (QUOTES_LABEL, SENTENCES_LABEL))):
            body = head
        if ANSWER_LABEL.lower().startswith(body.strip(" \t\n*#").lower()):
            return ""  # the label itself is still arriving
    return _ANSWER_MARK.sub("", body, count=1).strip()


def parse_reply(reply: str) -> Reply:
    """Answer text and ``[n] "quote"`` claims from a reply in the prompt's format (tolerantly)."""
    claims = []
    lines = reply.splitlines()
    for i, line in enumerate(lines):
        match = _QUOTE_LINE.match(line)
        if not match:
            continue
        text = match.group(2)
        closing = _PAIRS.get(text[0])
        # A quote the model wrapped over several lines runs on to its closing mark.
        for more in lines[i + 1:] if closing and closing not in text[1:] else []:
            if _QUOTE_LINE.match(more):
                break
            text += "\n" + more
            if closing is not None and closing in more:
                break
        claims.append(Claim(int(match.group(1)), _unquote(text)))
    claims = [c for c in claims if c.text]
    cited = [int(n) for match in _SENTENCES_MARK.finditer(reply) for n in re.findall(r"\d+", match.group(1))]
    answer = _CITATION.sub("", answer_part(reply)).strip()
    not_found = answer.upper().strip(" .!").startswith(NOT_FOUND_REPLY) or is_refusal(answer)
    return Reply(answer=answer, claims=[] if not_found else claims, not_found=not_found, cited=[] if not_found else cited)


def span_in(answer: str, quotes: list[Quote]) -> AnswerSpan | None:
    """The model's short answer as a span of the first quote that holds it verbatim (its case, its
    characters), so it can be marked inside that quote; None when it is longer or reworded."""
    text = answer.strip().rstrip(".").strip()
    if not text or len(text.split()) > 12:
        return None
    for i, quote in enumerate(quotes):
        at = quote.text.find(text)
        if at >= 0:
            return AnswerSpan(i, quote.start + at, quote.start + at + len(text), text)
    return None


def _listed(items: list[str]) -> str:
    """'45 years', '45 years and Moscow', '45 years, Moscow and 1967'."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


class LLMGenerator(Generator):
    """Answers with a chat model; every quote it shows was found verbatim in the passages."""

    def __init__(
        self, settings: Settings, model: BaseChatModel, name: str, where: str = "",
        embedder: Embedder | None = None, answer_model: Runnable | None = None,
    ):
        self.settings = settings
        self.name = name
        self.where = where  # the server or file, named in error messages
        self.numbered = settings.llm.quotes == "sentences"
        self.chain = (sentence_chain if self.numbered else answer_chain)(answer_model or model)
        self.rewriter = rewrite_chain(model)
        self.fallback = ExtractiveGenerator(settings, embedder)

    # --- the Generator interface -------------------------------------------------------------
    def clear_caches(self) -> None:
        self.fallback.clear_caches()  # its entity cache: the model's own replies are not cached

    def generate(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer:
        if not passages:
            return self._abstain(question, passages)
        confident = self._confident(question, passages, corpus)
        if confident is not None:
            return confident
        inputs = self._inputs(question, passages, corpus)
        try:
            reply = self.chain.invoke(inputs)
        except Exception as exc:  # any failure of the server or client: reported in one line
            return self._failed(question, passages, corpus, exc)
        return self.finish(question, reply, passages, corpus, inputs.get("numbered"))

    def stream(self, question: str, passages: list[Passage], corpus: Corpus) -> Iterator[str | Answer]:
        """The answer text piece by piece as the model writes it, then the verified Answer."""
        if not passages:
            yield self._abstain(question, passages)
            return
        confident = self._confident(question, passages, corpus)
        if confident is not None:
            yield confident.answer
            yield confident
            return
        reply, shown = "", ""
        inputs = self._inputs(question, passages, corpus)
        try:
            for piece in self.chain.stream(inputs):
                reply += piece
                visible = answer_part(reply, final=False)
                if len(visible) > len(shown) and visible.startswith(shown):
                    yield visible[len(shown):]
                    shown = visible
        except Exception as exc:
            yield self._failed(question, passages, corpus, exc)
            return
        yield self.finish(question, reply, passages, corpus, inputs.get("numbered"))

    def _confident(self, question: str, passages: list[Passage], corpus: Corpus) -> Answer | None:
        """With reads=uncertain, the extractive answer when it does not abstain and its quotes hold
        what the question asks for (the check a model's answer passes too): the model reads only
        what the extractive evidence leaves in doubt."""
        if self.settings.llm.reads != "uncertain":
            return None
        answer = self.fallback.generate(question, passages, corpus)
        if answer.abstained or not_held(question, [q.text for q in answer.quotes], corpus, self.settings.answerer, self.fallback.embedder):
            return None
        return answer

    def _inputs(self, question: str, passages: list[Passage], corpus: Corpus) -> dict:
        """What the chain reads: the passages, or (quotes=sentences) the extractive answerer's best
        sentences of them, numbered."""
        if not self.numbered:
            return {"question": question, "passages": passages}
        ranked = self.fallback.rank(question, passages, corpus)[: self.settings.llm.sentences]
        s = self.settings.answerer
        return {"question": question, "passages": passages,
                "numbered": Numbered([corpus.quote(e.source, e.start, e.end, round(e.support(s), 4)) for e in ranked])}

    def standalone(self, question: str, history) -> tuple[str, str]:
        """A follow-up made standalone by the model, for retrieval and answering alike."""
        rewritten = self.rewrite(question, history)
        return rewritten, rewritten

    def rewrite(self, question: str, history) -> str:
        """A follow-up made standalone by the model; the extractive rule when the model fails."""
        turns = as_turns(history)
        if not turns:
            return question
        conversation = "\n".join(
            f"User: {t.question}" + (f"\nAssistant: {t.answer[:HISTORY_ANSWER_CHARS]}" if t.answer else "") for t in turns
        )
        try:
            text = self.rewriter.invoke({"question": question, "history": conversation})
        except Exception as exc:
            log.warning("question rewrite failed (%s); using the previous question as context", _one_line(exc))
            return standalone_query(question, history)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        rewritten = _unquote(re.sub(r"^(standalone|rewritten)?\s*question\s*:\s*", "", lines[0], flags=re.I)) if lines else ""
        if not rewritten or len(rewritten) > 3 * len(question) + 200:
            return standalone_query(question, history)
        return rewritten

    # --- turning a reply into an Answer ------------------------------------------------------
    def finish(self, question: str, reply: str, passages: list[Passage], corpus: Corpus, numbered: Numbered | None = None) -> Answer:
        """Verify the reply: a refusal abstains; an answer with no verified quote left, or one that
        names what its quotes do not hold, falls back or abstains. With ``numbered`` sentences the
        quotes are the sentences it cites; else its free-text quotes, looked up in the passages."""
        parsed = parse_reply(reply)
        if parsed.not_found:
            return self._abstain(question, passages)
        if not (parsed.cited if numbered is not None else parsed.claims):
            return self._abstain(question, passages, notice=f"{self.name} gave no quote, which counts as not finding the answer")
        if numbered is not None:
            quotes, dropped = numbered.cited(parsed.cited)
        else:
            quotes, dropped = verify_claims(parsed.claims, passages, corpus, self.settings.llm.min_quote_chars)
        texts = [q.text for q in quotes]
        named = unsupported(parsed.answer, texts, question, self._names(parsed.answer)) if quotes else []
        lacking = not_held(question, texts, corpus, self.settings.answerer, self.fallback.embedder) if quotes and not named else []
        if named or lacking:
            why = (f"the model's answer named {_listed(named)}, which its quotes do not" if named
                   else f"the model's quotes do not hold {_listed(lacking)}, which the question asks for")
            answer = self._fall_back(question, passages, corpus, why)
            fallback_quotes = [q.text for q in answer.quotes]
            if not answer.abstained and not_held(question, fallback_quotes, corpus, self.settings.answerer, self.fallback.embedder):
                answer = self._abstain(question, passages, notice=f"{why}; nor do the extractive answer's")
            answer.dropped_quotes, answer.unsupported_claims = dropped, len(named) + len(lacking)
            return answer
        if quotes:
            return Answer(
                question=question,
                answer=parsed.answer or " ".join(q.text for q in quotes),
                abstained=False,
                quotes=quotes,
                passages=passages,
                generator=self.name,
                dropped_quotes=dropped,
                answer_span=span_in(parsed.answer, quotes),
            )
        why = f"{self.name} gave no quote found in the documents ({dropped} dropped)"
        answer = self._fall_back(question, passages, corpus, why)
        answer.dropped_quotes = dropped
        return answer

    def _names(self, text: str) -> list[str]:
        """The named entities of the model's answer (none without a recogniser)."""
        recogniser = self.fallback.entities
        found = recogniser.entities([text])[0] if recogniser is not None and text else None
        return [e.text for e in found or ()]

    def _abstain(self, question: str, passages: list[Passage], notice: str = "") -> Answer:
        return Answer(question=question, answer=NOT_FOUND, abstained=True, passages=passages, generator=self.name, notice=notice)

    def _fall_back(self, question: str, passages: list[Passage], corpus: Corpus, why: str) -> Answer:
        if self.settings.llm.fallback == "extractive":
            answer = self.fallback.generate(question, passages, corpus)
            answer.notice = f"{why}; answered extractively"
            return answer
        return self._abstain(question, passages, notice=why)

    def _failed(self, question: str, passages: list[Passage], corpus: Corpus, exc: Exception) -> Answer:
        why = f"the {self.name} model ({self.where}) failed: {_one_line(exc)}"
        if self.settings.llm.fallback != "extractive":
            raise GeneratorError(why) from exc
        return self._fall_back(question, passages, corpus, why)


def make_llm_generator(settings: Settings, embedder: Embedder | None = None) -> LLMGenerator:
    """The LLM generator named by ``settings.answerer.generator``, its client library imported only now."""
    kind = settings.answerer.generator
    grammar = SENTENCES_GRAMMAR if settings.llm.quotes == "sentences" else REPLY_GRAMMAR  # the reply format, where a backend enforces one
    if kind == "llamacpp":
        try:
            import llama_cpp  # noqa: F401  (an optional extra: imported only when chosen)
        except ImportError as exc:
            raise GeneratorError(needs_extra("the llamacpp generator (llama-cpp-python)", "llamacpp")) from exc
        path = _gguf(settings)
        model: BaseChatModel = LlamaCppChat(
            model_path=str(path),
            temperature=settings.llm.temperature,
            max_tokens=settings.llm.max_tokens,
            n_ctx=settings.llm.context_tokens,
        )
        answer_model = model.bind(grammar=grammar) if settings.llm.grammar else model
        return LLMGenerator(settings, model, kind, str(path), embedder, answer_model)
    url = settings.llm.base_url or DEFAULT_URLS[kind]
    try:
        if kind == "ollama":
            from langchain_ollama import ChatOllama
        else:
            from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise GeneratorError(needs_extra(f"the {kind} generator (langchain-{kind})", "llm")) from exc
    if kind == "ollama":
        if not settings.llm.model:
            raise GeneratorError("the ollama generator needs a model name: set ASSISTANT_LLM_MODEL (e.g. llama3.2)")
        chat: BaseChatModel = ChatOllama(
            model=settings.llm.model,
            base_url=url,
            temperature=settings.llm.temperature,
            num_predict=settings.llm.max_tokens,
            client_kwargs={"timeout": settings.llm.timeout},
        )
    else:
        chat = ChatOpenAI(
            model=settings.llm.model or "local-model",  # single-model local servers ignore the name
            base_url=url,
            api_key=SecretStr(settings.llm.api_key),
            temperature=settings.llm.temperature,
            timeout=settings.llm.timeout,
            max_retries=settings.llm.max_retries,
            max_completion_tokens=settings.llm.max_tokens,
            extra_body=_compatible_server_body(settings, url),
        )
    if kind == "openai" and settings.llm.grammar:
        # only the answer follows the reply format; the follow-up rewrite is free text
        return LLMGenerator(settings, chat, kind, url, embedder, chat.bind(extra_body=_compatible_server_body(settings, url, grammar)))
    return LLMGenerator(settings, chat, kind, url, embedder)


def _gguf(settings: Settings) -> Path:
    """The model file: ASSISTANT_LLM_MODEL_PATH, else the packaged Qwen2.5-Coder-1.5B (the qwen extra)."""
    if settings.llm.model_path is not None:
        path = settings.path(settings.llm.model_path)
        if not path.is_file():
            raise GeneratorError(f"the llamacpp generator's model file {path} does not exist (ASSISTANT_LLM_MODEL_PATH)")
        return path
    try:
        packaged = packaged_qwen(settings.path(settings.cache_dir))
    except (ValueError, OSError) as exc:  # damaged pieces, or no room to join them
        raise GeneratorError(f"the packaged model could not be made: {exc}") from exc
    if packaged is None:
        raise GeneratorError("the llamacpp generator needs a GGUF model: set ASSISTANT_LLM_MODEL_PATH, or "
                             + needs_extra("the packaged Qwen2.5-Coder-1.5B-Instruct", "qwen"))
    return packaged


def _compatible_server_body(settings: Settings, url: str, grammar: str | None = None) -> dict | None:
    """Request fields that OpenAI-compatible servers read but langchain-openai does not send.

    langchain-openai sends the length cap as ``max_completion_tokens``, which llama.cpp's server
    ignores (it then wrote 3,500 tokens for a 200-token cap here), so the old name goes along too,
    with llama.cpp's ``grammar`` when the reply format is to be enforced. OpenAI's own API (and
    Azure's) refuses both names at once and gets neither.
    """
    host = urlparse(url).hostname or ""
    if host == "api.openai.com" or host.endswith(".openai.azure.com"):
        return None
    body: dict[str, object] = {"max_tokens": settings.llm.max_tokens}
    if grammar:
        body["grammar"] = grammar
    return body


class LlamaCppChat(BaseChatModel):
    """A local GGUF model as a LangChain chat model, through llama-cpp-python (loaded on first use)."""

    model_path: str
    temperature: float = 0.0
    max_tokens: int = 512
    n_ctx: int = 4096

    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)  # a Llama object serves one completion at a time

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def _completion(self, messages, stop, stream: bool, grammar: str | None = None):
        from llama_cpp import Llama, LlamaGrammar

        if self._llama is None:
            self._llama = Llama(model_path=self.model_path, n_ctx=self.n_ctx, verbose=False)
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        return self._llama.create_chat_completion(
            messages=[{"role": roles.get(m.type, "user"), "content": m.text} for m in messages],
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stop=stop,
            stream=stream,
            grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar else None,
        )

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration, ChatResult

        with self._lock:
            result = self._completion(messages, stop, stream=False, grammar=kwargs.get("grammar"))
        text = result["choices"][0]["message"].get("content") or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        with self._lock:
            for part in self._completion(messages, stop, stream=True, grammar=kwargs.get("grammar")):
                delta = part["choices"][0]["delta"].get("content")
                if delta:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
                    if run_manager:
                        run_manager.on_llm_new_token(delta, chunk=chunk)
                    yield chunk
