"""Each channel test starts with an empty ephemeral store (bot.ephemeral)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.ephemeral import ephemeral_store


@pytest.fixture(autouse=True)
def _fresh_ephemeral_store() -> Iterator[None]:
    """Forget the process's store, so that no dedup key or rate bucket leaks between tests."""
    ephemeral_store.cache_clear()
    yield
    ephemeral_store.cache_clear()
