"""Serve channels on a real Sanic server in the test's event loop, as `rasa run` does.

`serve([...], agent)` registers the channels with Rasa's own `register` under
/webhooks/ and returns the server and its base URL. `Agent` stands in for
Rasa's agent: it records each `UserMessage` and answers through the message's
output channel with "Diterima: <text>".
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

from tests.integration.servers import free_port


class Agent:
    """What `rasa.core.agent.Agent.handle_message` is called with, recorded and answered."""

    def __init__(self, answer: bool = True) -> None:
        self.messages: list[UserMessage] = []
        self.answer = answer
        self.arrived = asyncio.Condition()

    async def handle_message(self, message: UserMessage) -> None:
        """Record the message; answer it through its output channel."""
        async with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        if self.answer:
            await message.output_channel.send_text_message(message.sender_id,
                                                           f"Diterima: {message.text}")

    async def wait_for(self, count: int) -> list[UserMessage]:
        """Wait until `count` messages arrived (the test's own timeout bounds it)."""
        async with self.arrived:
            await self.arrived.wait_for(lambda: len(self.messages) >= count)
        return list(self.messages)

    @property
    def texts(self) -> list[str | None]:
        """The texts received, in order."""
        return [m.text for m in self.messages]


async def serve(channels: list[InputChannel], agent: Any) -> tuple[Any, str]:
    """Start a Sanic server with `channels` on 127.0.0.1; return it and its base URL."""
    Sanic.test_mode = True  # several apps in one process
    app = Sanic(f"channels_{uuid.uuid4().hex[:12]}")
    app.ctx.agent = agent  # Rasa's channel handler calls app.ctx.agent.handle_message
    register(channels, app, route="/webhooks/")
    port = free_port()
    server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True,
                                     access_log=False)
    if server is None:
        raise RuntimeError("Sanic could not start the test server")
    await server.startup()
    await server.before_start()
    await server.after_start()
    return server, f"http://127.0.0.1:{port}"


async def shutdown(server: Any) -> None:
    """Stop a server started by `serve`."""
    await server.before_stop()
    server.close()
    await server.wait_closed()
    await server.after_stop()


class WebSocketClient:
    """A stock-protocol socket.io client of the web chat channel (python-socketio)."""

    SOCKETIO_PATH = "/webhooks/webchat/socket.io"

    def __init__(self, base_url: str, session_id: str | None = None) -> None:
        import socketio

        self.base_url = base_url
        self.wanted = session_id
        self.client = socketio.AsyncClient(reconnection=False)
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.session_id = ""

    async def __aenter__(self) -> WebSocketClient:
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        @self.client.on("session_confirm")
        async def on_confirm(data: object) -> None:
            if not confirmed.done():
                confirmed.set_result(str(data))

        @self.client.on("bot_uttered")
        async def on_bot(data: dict[str, Any]) -> None:
            await self.replies.put(data)

        await self.client.connect(self.base_url, socketio_path=self.SOCKETIO_PATH,
                                  transports=["polling"])
        await self.client.emit("session_request", {"session_id": self.wanted})
        self.session_id = await asyncio.wait_for(confirmed, 60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Not waiting for the pending long-poll to end (up to the ping interval): the
        # server learns of the close packet at once; tests wait for that with `until`.
        await self.client.eio.disconnect(abort=True)

    async def say(self, text: str) -> None:
        """Send a user message the way Rasa's widgets do."""
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def next_reply(self) -> dict[str, Any]:
        """The next bot message (a test timeout bounds the wait)."""
        return await asyncio.wait_for(self.replies.get(), 60)


async def until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait until `condition()` is true (the test's own timeout bounds the wait)."""
    while not await condition():
        await asyncio.sleep(0.02)
