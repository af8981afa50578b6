"""bot.slot_copy: a slot's `copy.copy` is the same copy, by a shorter path."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker

from bot import slot_copy

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"


@pytest.fixture
def patched() -> Iterator[None]:
    """Rasa's own Slot during the test (a channel built by an earlier test may have
    installed the patch), as it was afterwards."""
    had = Slot.__dict__.get("__copy__")
    if had is not None:
        del Slot.__copy__
    yield
    if "__copy__" in Slot.__dict__:
        del Slot.__copy__
    if had is not None:
        Slot.__copy__ = had


def test_every_slot_of_the_domain_copies_as_copy_copy_does(patched: None) -> None:
    slots = Domain.load(str(DOMAIN)).slots
    for slot in slots:
        slot.value = ["@akun", "https://x.test/1"] if slot.type_name == "list" else slot.value
    stock = [copy.copy(slot) for slot in slots]
    assert slot_copy.install() is True
    assert slot_copy.install() is False  # once
    fast = [copy.copy(slot) for slot in slots]
    for slot, before, after in zip(slots, stock, fast, strict=True):
        assert type(after) is type(before) and after is not slot
        assert vars(after) == vars(before)
        # Shallow, as copy.copy: a new value set on the copy leaves the original alone.
        after.value = None
        assert vars(slot) == vars(before)


def test_trackers_built_with_the_patch_hold_their_own_slots(patched: None) -> None:
    slot_copy.install()
    domain = Domain.load(str(DOMAIN))
    tracker = DialogueStateTracker("someone", domain.slots)
    name = domain.slots[0].name
    tracker.slots[name].value = tracker.slots[name].value or "x"
    other = tracker.init_copy()
    assert other.slots[name] is not tracker.slots[name]
    assert other.slots[name].value == domain.slots[0].initial_value
