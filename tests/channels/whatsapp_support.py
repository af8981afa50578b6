"""Helpers for the WhatsApp connector tests: signed webhooks and a served channel.

`ServedChannel` registers a `WhatsAppInput` on a real Sanic app the way Rasa
does (`rasa.core.channels.channel.register`) and serves it on 127.0.0.1 from a
background thread. Its message handler stands in for the Rasa agent: it records
each `UserMessage` and answers through the message's own output channel.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from channels.rest import RestInput
from channels.whatsapp import WhatsAppConfig, WhatsAppInput
from channels.whatsapp_api import GraphApiClient
from tests.fakes.graph_api import FakeGraphApi

APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
WA_ID = "6281234567890"
PHONE_DISPLAY = "6281100001111"

# Several Sanic apps start in one process during the tests (as with sanic-testing).
Sanic.test_mode = True


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    """The X-Hub-Signature-256 header value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(*messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None,
            wa_id: str = WA_ID) -> dict[str, Any]:
    """A Cloud API webhook body carrying `messages` (and optional status callbacks)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": PHONE_DISPLAY, "phone_number_id": "106540352242922"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Warga"}, "wa_id": wa_id}]
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value,
                                                               "field": "messages"}]}]}


def message(kind: str, content: dict[str, Any] | None = None, *, wa_id: str = WA_ID,
            message_id: str | None = None) -> dict[str, Any]:
    """One `value.messages[]` item of type `kind`."""
    item: dict[str, Any] = {
        "from": wa_id,
        "id": message_id or f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": kind,
    }
    if content is not None:
        item[kind] = content
    return item


def text_message(body: str, **kwargs: Any) -> dict[str, Any]:
    """A text message item."""
    return message("text", {"body": body}, **kwargs)


Responder = Callable[[UserMessage], Any]


class ServedChannel:
    """A WhatsAppInput served by a real Sanic server in a background thread."""

    def __init__(self, graph: FakeGraphApi, responder: Responder | None = None,
                 channel: WhatsAppInput | None = None) -> None:
        self.graph = graph
        self.received: list[UserMessage] = []
        self._responder = responder
        self._cond = threading.Condition()
        self.channel = channel or WhatsAppInput(
            WhatsAppConfig(verify_token=VERIFY_TOKEN, app_secret=APP_SECRET,
                           access_token=graph.access_token,
                           phone_number_id=graph.phone_number_id,
                           api_base_url=graph.base_url),
            client=GraphApiClient(graph.access_token, graph.phone_number_id, graph.base_url,
                                  backoff_seconds=0.01),
        )
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None

    @property
    def url(self) -> str:
        """The channel's webhook URL."""
        return f"http://127.0.0.1:{self.port}/webhooks/whatsapp/webhook"

    async def handle_message(self, user_message: UserMessage) -> None:
        """What Rasa's agent does with a message: here, record it and answer."""
        with self._cond:
            self.received.append(user_message)
            self._cond.notify_all()
        if self._responder is not None:
            result = self._responder(user_message)
            if asyncio.iscoroutine(result):
                await result

    def start(self) -> ServedChannel:
        """Serve the channel; raise with a clear message when Sanic cannot start."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = Sanic(f"wa_test_{uuid.uuid4().hex[:12]}")
        app.ctx.agent = self  # rasa's channel handler calls app.ctx.agent.handle_message
        # Registered next to the REST channel, as credentials.yml does.
        register([RestInput(), self.channel], app, route="/webhooks/")
        self._loop = asyncio.new_event_loop()

        async def serve() -> Any:
            server = await app.create_server(host="127.0.0.1", port=self.port,
                                             return_asyncio_server=True, access_log=False)
            await server.startup()
            await server.before_start()
            await server.after_start()
            return server

        try:
            self._server = self._loop.run_until_complete(serve())
        except Exception as exc:
            raise RuntimeError(f"the Sanic app with the WhatsApp channel did not start: {exc}") \
                from exc
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="whatsapp-channel")
        self._thread.start()
        return self

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        """Run a coroutine in the server's loop and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def idle(self) -> None:
        """Wait until the channel finished every background task."""
        self.run(self.channel.wait_idle())

    def wait_received(self, count: int, timeout: float = 60) -> list[UserMessage]:
        """Wait until `count` messages reached the handler."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.received)}")
                self._cond.wait(remaining)
            return list(self.received)

    def stop(self) -> None:
        """Stop the server and its loop."""
        if self._loop is None:
            return
        server = self._server

        async def shutdown() -> None:
            await self.channel.wait_idle()
            await server.before_stop()
            server.close()
            await server.wait_closed()
            await server.after_stop()

        try:
            self.run(shutdown(), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop.close()
            self._loop = None

    def __enter__(self) -> ServedChannel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def dumps(payload: Any) -> bytes:
    """JSON bytes of a payload, as Meta sends them."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")
