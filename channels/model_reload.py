"""Swap a newly trained model into the running Rasa server (`make reload`).

`channels.model_reload.ModelReloadInput` in credentials.yml adds one route,
`POST /webhooks/model/reload`, which reloads the model file the server runs (the
`--model` path, which `make reload` has just replaced) and answers once the new
model handles messages. Conversations go on: the tracker store, the lock store and
the action server stay the same objects, so a conversation started before the
swap continues with its slots and form; only the next parse uses the new model.

Why not Rasa's own ways:
- `rasa run --enable-api` with `PUT /model` opens the whole HTTP API (trackers,
  events, predictions) on the port citizens' channels use, and loads the model on
  the event loop, so every conversation waits for the load (seconds here);
- a model server pulled through endpoints.yml polls, and loads on the loop too.

This route loads the new model in a worker thread (`asyncio.to_thread`) and swaps
it in one assignment on the loop, so messages keep being answered meanwhile (by
the old model until the swap). One reload at a time per server.

Guarded three ways: the request must come from the loopback interface, carry no
proxy forwarding header (HAProxy and TLS proxies add one: a request from outside
never reaches it through them), and present `Authorization: Bearer <token>`, the
MODEL_RELOAD_TOKEN (in development a generated key in var-secrets/, as the other
development keys; in production the route answers 404 unless the token is set).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import gc_freeze
from bot.privacy import MissingSecretError, model_reload_token

logger = logging.getLogger(__name__)

CHANNEL = "model"
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host")


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def load_processor(agent: Any, model_path: Path) -> Any:
    """A message processor for the model at `model_path`, sharing the agent's stores,
    action endpoint and generator (blocking: run it in a thread)."""
    from rasa.core.processor import MessageProcessor

    return MessageProcessor(model_path=model_path, tracker_store=agent.tracker_store,
                            lock_store=agent.lock_store, action_endpoint=agent.action_endpoint,
                            generator=agent.nlg, http_interpreter=agent.http_interpreter)


def swap_processor(agent: Any, processor: Any) -> None:
    """Make `processor` the agent's, as Rasa's `Agent.load_model` does (on the loop)."""
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    agent.processor = processor
    agent.domain = processor.domain
    agent.tracker_store.domain = processor.domain
    if isinstance(agent.nlg, TemplatedNaturalLanguageGenerator):
        agent.nlg.responses = processor.domain.responses if processor.domain else {}


class ModelReloadInput(InputChannel):
    """`POST /webhooks/model/reload`: load the server's model file again, off the loop."""

    @classmethod
    def name(cls) -> str:
        """The URL prefix (/webhooks/model/)."""
        return CHANNEL

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    def _token(self) -> str | None:
        try:
            return model_reload_token()
        except MissingSecretError:
            return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The reload route (no message ever goes to `on_new_message`)."""
        routes = Blueprint(f"model_reload_{id(self)}", __name__)
        token = self._token()
        if token is None:
            logger.info("Model reload is off: MODEL_RELOAD_TOKEN is not set (production)")

        @routes.route("/reload", methods=["POST"])
        async def reload(request: Request) -> HTTPResponse:
            if token is None:
                return response.json({"error": "model reload is disabled"}, status=404)
            if not _loopback(request.ip) or any(h in request.headers
                                                for h in FORWARDING_HEADERS):
                return response.json({"error": "only from this machine"}, status=403)
            offered = request.headers.get("authorization", "")
            expected = f"Bearer {token}"
            if not hmac.compare_digest(offered.encode("utf-8", "replace"),
                                       expected.encode("utf-8")):
                return response.json({"error": "unauthorized"}, status=401)
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or agent.processor is None:
                return response.json({"error": "no model is loaded yet"}, status=409)
            if self._lock.locked():
                return response.json({"error": "a reload is already running"}, status=409)
            async with self._lock:
                started = time.monotonic()
                model_path = Path(agent.processor.model_path)
                try:
                    processor = await asyncio.to_thread(load_processor, agent, model_path)
                except Exception:  # noqa: BLE001 - the old model stays; the caller hears why
                    logger.exception("Model reload failed; the previous model stays loaded")
                    return response.json({"error": "the model could not be loaded; the "
                                          "previous model stays"}, status=500)
                swap_processor(agent, processor)
                gc_freeze.refreeze()  # frees the previous model; keeps GC off the new one
                seconds = round(time.monotonic() - started, 2)
            logger.info("Model reloaded from %s in %.1f s (model id %s)", model_path.name,
                        seconds, agent.model_id)
            return response.json({"model_id": agent.model_id, "model": model_path.name,
                                  "seconds": seconds})

        return routes
