"""What `rasa run` patches into Rasa 3.6 for speed, in one place.

Called when the channels build their routes (channels/rest.py, webchat.py,
webhook.py), so `rasa train` and `rasa test` keep Rasa's own behaviour; each
patch does what Rasa does, only cheaper, and is measured in `make bench-load`.
"""

from __future__ import annotations

from typing import Any

from bot import action_validation, gc_freeze, parse_offload, slot_copy

_frozen = False


def install(blueprint: Any = None) -> None:
    """NLU parsing off the event loop; the action server's answers checked with one
    compiled validator; slots copied without `copy.copy`'s generic path; and, once
    the server has started with its model loaded, the garbage collector kept off
    the model (`blueprint`'s after_server_start listener; bot.gc_freeze)."""
    parse_offload.install()
    action_validation.install()
    slot_copy.install()
    if blueprint is not None:
        blueprint.listener("after_server_start")(_freeze_once)


async def _freeze_once(app: Any, loop: Any) -> None:
    """Freeze once a model is loaded: `rasa run` loads it before the server starts
    (`app.ctx.agent`). A Sanic app serving a channel without one (a test's) keeps
    its collector as it is."""
    global _frozen
    agent = getattr(app.ctx, "agent", None)
    if _frozen or agent is None or getattr(agent, "processor", None) is None:
        return  # each channel's blueprint registers the listener
    _frozen = True
    gc_freeze.refreeze()
