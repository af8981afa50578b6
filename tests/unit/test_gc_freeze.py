"""bot.gc_freeze: what exists is frozen; a refreeze frees what was frozen and is gone."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from bot import gc_freeze


class Node:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_refreeze_freezes_what_exists_and_frees_a_frozen_cycle_no_longer_used() -> None:
    old_model = Node()
    gone = weakref.ref(old_model)
    assert gc_freeze.refreeze() > 0
    assert gc.get_freeze_count() > 0
    del old_model
    gc.collect()  # frozen objects are skipped: the cycle stays
    assert gone() is not None
    gc_freeze.refreeze()  # as after a model reload
    assert gone() is None
    kept = Node()
    gc_freeze.refreeze()
    assert kept.me is kept


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.unfreeze()
    monkeypatch.setenv("GC_FREEZE", "0")
    assert gc_freeze.refreeze() == 0
    assert gc.get_freeze_count() == 0
