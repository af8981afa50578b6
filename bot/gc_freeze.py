"""Keep Python's garbage collector off the loaded model, for `rasa run`.

A loaded Rasa model is about a million Python objects (TensorFlow, Keras, the
NLU graph, the domain). CPython's full collections walk every tracked object,
and under load one ran every few seconds and held the interpreter for about
half a second each time (measured in `make bench-load`: about 1.7 s in a 20 s
run, a stall for every conversation, most of the p99). `gc.freeze()` moves what
exists once the server has started into a permanent generation that collections
skip; objects made per message are collected as before.

A model swapped in later (`POST /webhooks/model/reload`) is frozen the same way,
after one full collection that frees the model it replaced (`refreeze`).
GC_FREEZE=0 switches it off.
"""

from __future__ import annotations

import gc
import logging
import os
import time

logger = logging.getLogger(__name__)


def enabled() -> bool:
    """False when GC_FREEZE is 0, false, no or off."""
    return (os.environ.get("GC_FREEZE") or "1").strip().lower() not in ("0", "false", "no", "off")


def refreeze() -> int:
    """Collect everything (frozen objects included), then freeze what survives;
    return how many objects are frozen. Does nothing when switched off."""
    if not enabled():
        return 0
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("Garbage collector: %d objects of the loaded model frozen in %.2f s",
                frozen, time.perf_counter() - started)
    return frozen
