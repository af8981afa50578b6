"""A third platform written against `channels.webhook.WebhookChannel`, as small as it gets.

An SMS gateway that posts `{"messages": [{"id", "from", "text" | "file" | "lat"/"lon"
| "sticker"}]}` with a shared token in `X-Gateway-Token`, serves files by id and
is answered through `sent` (a real gateway would be an HTTP call there). It
shows what a new platform supplies: verification, parsing, media and output.
"""

from __future__ import annotations

import hmac
from typing import Any

from rasa.core.channels.channel import OutputChannel
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.ephemeral import EphemeralStore
from bot.evidence import too_large
from channels.webhook import Incoming, Kind, MediaUnavailable, NotAnUpdate, WebhookChannel


class GatewayOutput(OutputChannel):
    """Sends text to one phone number through the gateway (recorded in `sent`)."""

    def __init__(self, sent: list[tuple[str, str]], phone: str) -> None:
        self.sent, self.phone = sent, phone

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """One SMS."""
        self.sent.append((self.phone, text))


class GatewayInput(WebhookChannel):
    """The gateway's webhook: /webhooks/smsgw/webhook."""

    channel_name = "smsgw"

    def __init__(self, token: str, files: dict[str, bytes],
                 store: EphemeralStore | None = None) -> None:
        super().__init__(token, store)
        self.token, self.files = token.encode(), files
        self.sent: list[tuple[str, str]] = []

    def verify(self, request: Request) -> HTTPResponse | None:
        """The shared token, compared in constant time."""
        given = request.headers.get("X-Gateway-Token")
        if given is None:
            return response.json({"error": "missing token"}, status=401)
        if not hmac.compare_digest(given.encode(), self.token):
            return response.json({"error": "wrong token"}, status=403)
        return None

    def parse(self, payload: Any) -> list[Incoming]:
        """Each well-formed item of `messages`."""
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
            raise NotAnUpdate("not a gateway delivery")
        found = []
        for item in payload["messages"]:
            if not isinstance(item, dict) or not {"id", "from"} <= item.keys():
                continue
            common = {"key": str(item["id"]), "user_id": str(item["from"]),
                      "contact": str(item["from"])}
            if "file" in item:
                found.append(Incoming(kind=Kind.FILE, media=item["file"], text=item.get("text"),
                                      **common))
            elif "lat" in item:
                found.append(Incoming(kind=Kind.LOCATION, location=(item["lat"], item["lon"]),
                                      **common))
            elif isinstance(item.get("text"), str):
                found.append(Incoming(kind=Kind.TEXT, text=item["text"], **common))
            else:
                found.append(Incoming(kind=Kind.UNSUPPORTED, **common))
        return found

    async def fetch_media(self, incoming: Incoming, limit: int) -> tuple[bytes, str | None]:
        """The file the gateway holds under that id."""
        data = self.files.get(incoming.media)
        if data is None:
            raise MediaUnavailable("unknown file id")
        if len(data) > limit:
            raise too_large(limit)
        return data, None

    def output_for(self, incoming: Incoming) -> GatewayOutput:
        """Answers go back to the sender's number."""
        return GatewayOutput(self.sent, str(incoming.contact))
