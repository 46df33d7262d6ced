"""The library as a library: no UI imports, no import cycles, seams that take any part that keeps their promise."""

from __future__ import annotations

import ast
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import extracted_text

from assistant import Assistant, Settings
from assistant.embeddings import LangChainEmbedder, as_embedder
from assistant.protocols import Embedder
from assistant.registry import EMBEDDERS, GENERATORS, lookup

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"


def test_the_library_imports_no_ui_code():
    code = (
        "import sys, pkgutil, importlib, assistant\n"
        "from assistant import Assistant\n"
        "for m in pkgutil.walk_packages(assistant.__path__, 'assistant.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] in ('streamlit', 'matplotlib')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path, module: str, modules: set[str]) -> set[str]:
    """Modules of the package that ``path`` imports, at the top or inside functions; imports
    under ``if TYPE_CHECKING:`` are for annotations and never run, so they do not count, and
    ``from . import lexical`` depends on the module, not on the package's ``__init__``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            found.update(submodules)
            if len(submodules) < len(node.names):
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return {name: {m for m in _imports(path, name, set(modules)) if m in modules and m != name} for name, path in modules.items()}


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 30 and "assistant.pipeline" in graph["assistant"] | graph["assistant.cli"]
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


def test_a_fake_embedder_wires_through_index_and_answer(fresh_project, fake_embedder):
    """The seams take any embedder that keeps the protocol: index, retrieve, quote exactly."""
    assert isinstance(fake_embedder, Embedder)
    assistant = Assistant(Settings(root=fresh_project), embedder=fake_embedder)
    report = assistant.index()
    assert report.added and fake_embedder.calls
    answer = assistant.ask("What share of Ukraine's territory do Russian forces control?")
    assert answer.passages and all(p.chunk.text for p in answer.passages)
    for quote in answer.quotes:
        assert extracted_text(fresh_project, quote.source)[quote.start:quote.end] == quote.text


def test_a_plain_langchain_embedder_is_adapted_and_says_so(caplog):
    from langchain_core.embeddings import DeterministicFakeEmbedding

    plain = DeterministicFakeEmbedding(size=16)
    with caplog.at_level(logging.WARNING, logger="assistant.embeddings"):
        adapted = as_embedder(plain)
    assert isinstance(adapted, LangChainEmbedder) and isinstance(adapted, Embedder)
    assert "answers differ" in caplog.text
    (words,) = adapted.word_vectors(["Russian forces control land"])
    assert words.words == ["Russian", "forces", "control", "land"] and words.vectors.shape == (4, 16)
    with pytest.raises(TypeError, match="neither"):
        as_embedder(object())


def test_parts_are_looked_up_by_name():
    assert set(GENERATORS) == {"extractive", "ollama", "openai", "llamacpp"} and set(EMBEDDERS) == {"onnx", "onnx-int8", "torch"}
    for table in (GENERATORS, EMBEDDERS):
        for name in table:
            assert callable(lookup(table, name, "part"))
    with pytest.raises(ValueError, match="known: extractive, llamacpp, ollama, openai"):
        lookup(GENERATORS, "gpt", "generator")
