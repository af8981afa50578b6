"""bot.gc_freeze, in a child process (freezing the test process's heap would keep its
garbage to the end): what exists is frozen; a refreeze frees a frozen cycle no longer
used; GC_FREEZE=0 switches it off. And the server hook freezes only with a model."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot import server_hooks

PROJECT_ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import gc, sys, weakref
from bot import gc_freeze

class Node:
    def __init__(self):
        self.me = self

if sys.argv[1] == "off":
    assert gc_freeze.refreeze() == 0 and gc.get_freeze_count() == 0
    sys.exit(0)
old_model = Node()
gone = weakref.ref(old_model)
assert gc_freeze.refreeze() > 0 and gc.get_freeze_count() > 0
del old_model
gc.collect()  # frozen objects are skipped: the cycle stays
assert gone() is not None
gc_freeze.refreeze()  # as after a model reload
assert gone() is None
kept = Node()
gc_freeze.refreeze()
assert kept.me is kept
gc.unfreeze()
"""


@pytest.mark.parametrize("mode", ["on", "off"])
def test_refreeze_in_a_child_process(mode: str) -> None:
    env = {**os.environ, "GC_FREEZE": "1" if mode == "on" else "0"}
    result = subprocess.run([sys.executable, "-c", CHILD, mode], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_server_hook_freezes_only_an_app_with_a_loaded_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(server_hooks.gc_freeze, "refreeze", lambda: calls.append(1) or 1)
    monkeypatch.setattr(server_hooks, "_frozen", False)
    no_model = SimpleNamespace(ctx=SimpleNamespace())
    asyncio.run(server_hooks._freeze_once(no_model, None))
    not_loaded = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(processor=None)))
    asyncio.run(server_hooks._freeze_once(not_loaded, None))
    assert calls == []
    loaded = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(processor=object())))
    asyncio.run(server_hooks._freeze_once(loaded, None))
    asyncio.run(server_hooks._freeze_once(loaded, None))  # every channel registers it
    assert calls == [1]
