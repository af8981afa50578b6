"""Run the NLU graph off the Rasa server's event loop.

Rasa 3.6 parses a message (`MessageProcessor.parse_message`) synchronously on
the event loop: for ~20 ms per message (the e5 embedding in C, DIET in
TensorFlow) the server can do nothing else for any other conversation. Both
release the GIL while they compute, so running the NLU graph in worker threads
lets the loop predict, call the action server and store trackers for other
conversations meanwhile (`make bench-load` measures the difference).

`PARSE_THREADS` worker threads (default 1, as many as 8). One keeps stock Rasa's
guarantee that no NLU component runs concurrently with itself. With 2, two
messages are parsed at once, one computing in C or TensorFlow while the other
runs Python; the components are safe for it (after loading none of them changes
its own state while it parses: the e5 model is read-only and loads once, under
a lock; DIET runs a `tf.function`; the others are scikit-learn transforms and
pure functions), and tests/unit/test_parse_offload.py checks that messages
parsed at once give what they give one at a time. On this 2-core machine it
added 6 % to one process's FAQ throughput, within the benchmark's noise, and
took a core from a second replica, so the default stays 1.

`install()` is called when `rasa run` builds the channels' routes
(channels/rest.py, webchat.py, webhook.py); `rasa train` and `rasa test` keep
Rasa's own behaviour. PARSE_IN_THREAD=0 switches it off.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_stock_parse_message: Any = None


#: Worker threads when PARSE_THREADS is not set.
DEFAULT_THREADS = 1


def parse_threads() -> int:
    """PARSE_THREADS (1 to 8), else DEFAULT_THREADS."""
    raw = (os.environ.get("PARSE_THREADS") or "").strip()
    try:
        threads = int(raw) if raw else DEFAULT_THREADS
    except ValueError:
        logger.warning("PARSE_THREADS=%r is not a number; using %d", raw, DEFAULT_THREADS)
        return DEFAULT_THREADS
    return min(8, max(1, threads))


def install() -> bool:
    """Patch Rasa's message processor once; True when parsing now runs in the thread."""
    global _executor, _stock_parse_message
    if _executor is not None:
        return True
    if (os.environ.get("PARSE_IN_THREAD") or "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    _executor = ThreadPoolExecutor(max_workers=parse_threads(), thread_name_prefix="nlu-parse")
    executor = _executor

    async def parse_message(self: MessageProcessor, message: Any,
                            tracker: DialogueStateTracker | None = None,
                            only_output_properties: bool = True) -> dict[str, Any]:
        if self.http_interpreter:
            parse_data = await self.http_interpreter.parse(message)
        else:
            if tracker is None:
                tracker = DialogueStateTracker.from_events(message.sender_id, [])
            # The tracker is only read by the NLU graph (and this conversation's lock
            # keeps everyone else from changing it meanwhile).
            parse_data = await asyncio.get_running_loop().run_in_executor(
                executor, self._parse_message_with_graph, message, tracker,
                only_output_properties)
        self._update_full_retrieval_intent(parse_data)
        self._check_for_unseen_features(parse_data)
        return parse_data

    parse_message.__doc__ = MessageProcessor.parse_message.__doc__
    _stock_parse_message = MessageProcessor.parse_message
    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
    logger.info("NLU parsing runs in %d worker thread(s) (PARSE_THREADS; PARSE_IN_THREAD=0 "
                "to switch off)", parse_threads())
    return True


def uninstall() -> None:
    """Give Rasa its own `parse_message` back (tests)."""
    global _executor, _stock_parse_message
    if _executor is None:
        return
    from rasa.core.processor import MessageProcessor

    MessageProcessor.parse_message = _stock_parse_message  # type: ignore[method-assign]
    _executor.shutdown(wait=True)
    _executor = _stock_parse_message = None
