"""A disk cache of sentence embeddings of training examples, across trainings.

Rasa's graph cache re-uses a component only when all of its input is unchanged, so
one new example makes `E5SentenceFeaturizer` embed every training example again
(about half a minute of a `make reload` here). The embedding of a text depends on
nothing but the text, the prefix and the model, so this cache keeps them: a
SQLite file `e5_embeddings.db` next to Rasa's cache folder (`.rasa/`, or the parent
of RASA_CACHE_DIRECTORY), keyed by a SHA-256 of the model name, the prefix and the
text. Only training uses it (`process_training_data`); parsing a message never
reads or writes it. E5_EMBEDDING_CACHE=0 switches it off; `make clean` deletes it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

FILE_NAME = "e5_embeddings.db"
#: Rows kept; beyond it the cache is emptied at the next training (texts change slowly).
MAX_ROWS = 200_000


def cache_path() -> Path | None:
    """Where the cache lives, or None when it is switched off."""
    if (os.environ.get("E5_EMBEDDING_CACHE") or "1").strip().lower() in ("0", "false", "off"):
        return None
    rasa_cache = Path(os.environ.get("RASA_CACHE_DIRECTORY") or Path(".rasa", "cache"))
    return rasa_cache.parent / FILE_NAME


def _key(model: str, prefix: str, text: str) -> str:
    return hashlib.sha256(f"{model}\x00{prefix}\x00{text}".encode()).hexdigest()


def cached_embeddings(texts: Sequence[str], model: str, prefix: str,
                      embed: Callable[[list[str]], np.ndarray],
                      path: Path | None = None) -> np.ndarray:
    """Embeddings of `texts` (rows in order): cached ones read, the others computed
    with `embed` (a batch of texts -> one row each) and stored."""
    path = path if path is not None else cache_path()
    if path is None:
        return embed(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = [_key(model, prefix, text) for text in texts]
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS embeddings "
                           "(key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        (rows,) = connection.execute("SELECT COUNT(*) FROM embeddings").fetchone()
        if rows > MAX_ROWS:
            connection.execute("DELETE FROM embeddings")
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in connection.execute(
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})",  # noqa: S608
                    chunk):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, key in enumerate(keys) if key not in found]
        missing_texts = list(dict.fromkeys(texts[i] for i in missing))
        if missing_texts:
            vectors = np.asarray(embed(missing_texts), dtype=np.float32)
            by_text = dict(zip(missing_texts, vectors, strict=True))
            for index in missing:
                found[keys[index]] = by_text[texts[index]]
            connection.executemany(
                "INSERT OR REPLACE INTO embeddings (key, vector) VALUES (?, ?)",
                [(_key(model, prefix, text), vector.astype(np.float32).tobytes())
                 for text, vector in by_text.items()])
    logger.debug("E5 embeddings: %d cached, %d computed", len(texts) - len(missing),
                 len(missing))
    return np.stack([found[key] for key in keys]) if keys else np.zeros((0, 0), np.float32)
