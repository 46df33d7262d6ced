"""The document store: extracted texts, layouts, chunk spans and sentence spans, in SQLite beside Chroma.

It is the record of what the index holds (source -> content hash) and the ground truth that
every quote is cut from. A ``pending`` journal makes indexing crash-safe: a source is marked
before its vectors change and unmarked in the same transaction that records its new state, so
a run that died half-way is finished or undone by the next one.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import BrokenIndex
from .types import Chunk, Document, Layout, Sentence

SCHEMA_VERSION = "2"  # 2: document layouts, chunk headers


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY, sha256 TEXT NOT NULL, text TEXT NOT NULL,
    sentences TEXT NOT NULL, layout TEXT NOT NULL, indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, source TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    header TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS pending (source TEXT PRIMARY KEY);
"""


class DocStore:
    """The :class:`assistant.protocols.DocumentStore` in a SQLite file of the index folder."""

    def __init__(self, path: Path):
        self.path = path
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db: sqlite3.Connection | None = None
        try:
            with self._damage():
                self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                version = self._read_version()
                if version is None:
                    self.db.executescript(_SCHEMA)
                    self.set_meta("schema_version", SCHEMA_VERSION)
                elif version != SCHEMA_VERSION:
                    raise BrokenIndex(f"the index at {path.parent} was built by another version (format {version})")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def remove_files(path: Path) -> None:
        """Delete a document store that cannot be opened, with its journal files (for a rebuild)."""
        for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
            file = path.parent / name
            if file.is_dir() and not file.is_symlink():
                shutil.rmtree(file)
            else:
                file.unlink(missing_ok=True)

    def _read_version(self) -> str | None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" not in tables:
            if tables:
                raise BrokenIndex(f"the index at {self.path.parent} has an unknown layout")
            return None
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return row[0] if row else None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise BrokenIndex(f"the document store at {self.path} did not open")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    @contextmanager
    def _damage(self):
        """SQLite errors become BrokenIndex, except a lock held by another process (not damage)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise
            raise BrokenIndex(f"the index at {self.path.parent} cannot be read ({exc})") from exc
        except sqlite3.DatabaseError as exc:
            raise BrokenIndex(f"the index at {self.path.parent} is damaged ({exc})") from exc

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._damage():
            return self.db.execute(sql, params).fetchall()

    # --- metadata -------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._rows("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- reading --------------------------------------------------------------------------
    def hashes(self) -> dict[str, str]:
        return dict(self._rows("SELECT source, sha256 FROM documents"))

    def text(self, source: str) -> str | None:
        rows = self._rows("SELECT text FROM documents WHERE source=?", (source,))
        return rows[0][0] if rows else None

    def texts(self) -> dict[str, str]:
        return dict(self._rows("SELECT source, text FROM documents"))

    def sentences(self) -> dict[str, list[tuple[int, int]]]:
        return {s: [tuple(p) for p in json.loads(js)] for s, js in self._rows("SELECT source, sentences FROM documents")}

    def layouts(self) -> dict[str, Layout]:
        return {s: Layout.from_json(json.loads(js)) for s, js in self._rows("SELECT source, layout FROM documents")}

    def chunks(self) -> list[Chunk]:
        return [Chunk(*row) for row in self._rows('SELECT id, source, start, "end", text, header FROM chunks ORDER BY source, start')]

    def counts(self) -> tuple[int, int]:
        docs = self._rows("SELECT COUNT(*) FROM documents")[0][0]
        chunks = self._rows("SELECT COUNT(*) FROM chunks")[0][0]
        return docs, chunks

    def pending(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT source FROM pending")]

    # --- writing --------------------------------------------------------------------------
    def mark_pending(self, *sources: str) -> None:
        """Journal sources before their vectors change (see module docstring)."""
        with self._transaction():
            self.db.executemany("INSERT OR IGNORE INTO pending(source) VALUES (?)", [(source,) for source in sources])

    def record(self, entries: list[tuple[Document, list[Chunk], list[Sentence]]]) -> None:
        """All entries in one transaction."""
        with self._transaction():
            for document, chunks, sentences in entries:
                self._forget(document.source)
                self.db.execute(
                    "INSERT INTO documents(source, sha256, text, sentences, layout, indexed_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (document.source, document.sha256, document.text, json.dumps([[s.start, s.end] for s in sentences]),
                     json.dumps(document.layout.to_json()), time.time()),
                )
                self.db.executemany(
                    'INSERT INTO chunks(id, source, start, "end", text, header) VALUES (?, ?, ?, ?, ?, ?)',
                    [(c.id, c.source, c.start, c.end, c.text, c.header) for c in chunks],
                )
                self.db.execute("DELETE FROM pending WHERE source=?", (document.source,))

    def remove(self, source: str) -> None:
        with self._transaction():
            self._forget(source)
            self.db.execute("DELETE FROM pending WHERE source=?", (source,))

    def clear(self) -> None:
        with self._transaction():
            for table in ("documents", "chunks", "pending"):
                self.db.execute(f"DELETE FROM {table}")

    def _forget(self, source: str) -> None:
        self.db.execute("DELETE FROM documents WHERE source=?", (source,))
        self.db.execute("DELETE FROM chunks WHERE source=?", (source,))

    @contextmanager
    def _transaction(self):
        with self._damage():
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
