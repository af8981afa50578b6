"""WhatsApp Cloud API (Graph API) client and the Rasa output channel built on it.

`GraphApiClient` sends messages (`POST {base}/{phone_number_id}/messages`) and
downloads media (`GET {base}/{media_id}`, then the returned URL), both with the
access token as a Bearer token, a timeout on every call, and retries with
exponential backoff on 429 and 5xx answers (honouring `Retry-After`).

`WhatsAppOutput` renders Rasa responses for WhatsApp: text split at 4096
characters, up to 3 buttons as reply buttons, 4-10 buttons as a list, more as a
numbered text whose payloads are remembered in a `ChoiceMemory`. It is created
per incoming message with the citizen's WhatsApp id; Rasa only ever sees the
pseudonymous sender key, which is used as the `ChoiceMemory` key.

`WhatsAppNotifier` writes to a person outside a conversation (a reviewer's
notice): free text while WhatsApp's 24-hour customer-service window is open
(the connector marks it, `wa-window:<sender>` in the ephemeral store, at every
incoming message), otherwise the approved template WHATSAPP_NOTIFY_TEMPLATE
with the notice's template values (ticket code, status) as its body parameters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel

from bot.channel_messages import channel_message
from bot.ephemeral import EphemeralStore
from bot.privacy import redact, sender_key
from channels.common import read_at_most
from channels.outbound import Delivery
from channels.rendering import ChoiceMemory, button_payload, numbered_choices, split_text, truncate

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://graph.facebook.com/v21.0"

TEXT_LIMIT = 4096
INTERACTIVE_BODY_LIMIT = 1024
MAX_REPLY_BUTTONS = 3
REPLY_BUTTON_TITLE_LIMIT = 20
REPLY_BUTTON_ID_LIMIT = 256
MAX_LIST_ROWS = 10
LIST_ROW_TITLE_LIMIT = 24
LIST_ROW_DESCRIPTION_LIMIT = 72
LIST_ROW_ID_LIMIT = 200
LIST_BUTTON_LIMIT = 20
CAPTION_LIMIT = 1024
TEMPLATE_PARAMETER_LIMIT = 1024
#: WhatsApp's window is 24 hours after the person's last message; a margin stays safe.
WINDOW_SECONDS = 24 * 3600.0 - 600.0

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 30.0
DOWNLOAD_CHUNK_BYTES = 64 * 1024


class GraphApiError(RuntimeError):
    """The Graph API refused a call or could not be reached (after retries)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MediaTooLarge(GraphApiError):
    """A media file is larger than the allowed size (announced or while downloading)."""


@dataclass(frozen=True)
class DownloadedMedia:
    """A media file downloaded from WhatsApp."""

    data: bytes
    mime_type: str | None


def _retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (seconds form only), capped; None when absent."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


class GraphApiClient:
    """A small WhatsApp Cloud API client (messages and media)."""

    def __init__(
        self,
        access_token: str,
        phone_number_id: str,
        base_url: str = DEFAULT_API_BASE_URL,
        *,
        timeout_seconds: float = 15.0,
        download_timeout_seconds: float = 60.0,
        max_attempts: int = 4,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.phone_number_id = phone_number_id
        self._token = access_token
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._download_timeout = aiohttp.ClientTimeout(total=download_timeout_seconds)
        self._max_attempts = max(1, max_attempts)
        self._backoff = max(0.0, backoff_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"GraphApiClient(base_url={self.base_url!r})"  # never shows the token

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession()
            self._session_loop = loop
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (if one was opened in the running loop)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                await session.close()
            except RuntimeError:  # opened in another, closed loop
                logger.debug("Graph API session belonged to a closed loop")

    async def _request(
        self, method: str, url: str, *, json_body: dict[str, Any] | None = None,
        what: str,
    ) -> dict[str, Any]:
        """One JSON call with retries on 429/5xx and connection failures."""
        session = self._get_session()
        for attempt in range(1, self._max_attempts + 1):
            delay = self._backoff * (2 ** (attempt - 1))
            try:
                async with session.request(method, url, json=json_body, headers=self._auth,
                                           timeout=self._timeout) as response:
                    status = response.status
                    if status in RETRY_STATUSES:
                        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                        if retry_after is not None:
                            delay = retry_after
                        error = f"HTTP {status}"
                    else:
                        try:
                            body = await response.json(content_type=None)
                        except (ValueError, aiohttp.ContentTypeError):
                            body = None
                        if 200 <= status < 300 and isinstance(body, dict):
                            return body
                        raise GraphApiError(
                            f"Graph API {what} failed: HTTP {status} {_error_summary(body)}",
                            status,
                        )
            except aiohttp.ClientConnectionError as exc:
                status, error = None, type(exc).__name__
            except asyncio.TimeoutError:
                # A timed-out POST may have been delivered: do not send it twice.
                raise GraphApiError(f"Graph API {what} timed out") from None
            if attempt == self._max_attempts:
                raise GraphApiError(
                    f"Graph API {what} failed after {attempt} attempts: {error}", status
                )
            logger.warning("Graph API %s: %s, retrying in %.2fs (attempt %d/%d)",
                           what, error, delay, attempt, self._max_attempts)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, to: str, message: dict[str, Any]) -> str | None:
        """Send one message object (`type` + its content) to a WhatsApp id; its message id."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
                **message}
        url = f"{self.base_url}/{self.phone_number_id}/messages"
        answer = await self._request("POST", url, json_body=body,
                                     what=f"send {message.get('type')}")
        messages = answer.get("messages")
        message_id = None
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            message_id = messages[0].get("id")
        logger.debug("Sent a WhatsApp %s message to %s", message.get("type"), redact(to))
        return message_id if isinstance(message_id, str) else None

    async def download_media(self, media_id: str, max_bytes: int) -> DownloadedMedia:
        """Fetch a media file's bytes; `MediaTooLarge` beyond `max_bytes` (checked twice).

        The size the API announces is checked before downloading, then the bytes
        received are counted and the download stops as soon as they exceed it.
        """
        if not media_id or "/" in media_id or "?" in media_id or "#" in media_id:
            raise GraphApiError("invalid media id")
        info = await self._request("GET", f"{self.base_url}/{media_id}", what="media lookup")
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise GraphApiError("media lookup returned no download URL")
        if self.base_url.startswith("https://") and not url.startswith("https://"):
            raise GraphApiError("media download URL is not HTTPS")
        announced = info.get("file_size")
        try:
            announced_size = int(announced) if announced is not None else None
        except (TypeError, ValueError):
            announced_size = None
        if announced_size is not None and announced_size > max_bytes:
            raise MediaTooLarge(f"media announced as {announced_size} bytes")
        mime_type = info.get("mime_type") if isinstance(info.get("mime_type"), str) else None
        session = self._get_session()
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with session.get(url, headers=self._auth,
                                       timeout=self._download_timeout) as response:
                    if response.status in RETRY_STATUSES and attempt < self._max_attempts:
                        retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                        delay = (retry_after if retry_after is not None
                                 else self._backoff * (2 ** (attempt - 1)))
                        logger.warning("Media download: HTTP %d, retrying in %.2fs",
                                       response.status, delay)
                        await asyncio.sleep(delay)
                        continue
                    if response.status != 200:
                        raise GraphApiError(f"media download failed: HTTP {response.status}",
                                            response.status)
                    if response.content_length is not None and response.content_length > max_bytes:
                        raise MediaTooLarge(f"media is {response.content_length} bytes")
                    data = await read_at_most(
                        response.content.iter_chunked(DOWNLOAD_CHUNK_BYTES), max_bytes)
                    if data is None:
                        raise MediaTooLarge(f"media exceeded {max_bytes} bytes")
                    return DownloadedMedia(data, mime_type)
            except aiohttp.ClientError as exc:
                raise GraphApiError(f"media download failed: {type(exc).__name__}") from None
            except asyncio.TimeoutError:
                raise GraphApiError("media download timed out") from None
        raise GraphApiError("media download failed after retries")


def _error_summary(body: Any) -> str:
    """The Graph API error code and message, shortened, for logs."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return f"(code {error.get('code')}: {str(error.get('message', ''))[:200]})"
    return ""


class WhatsAppOutput(OutputChannel):
    """Sends Rasa's responses to one WhatsApp user through the Cloud API."""

    @classmethod
    def name(cls) -> str:
        """The channel name."""
        return "whatsapp"

    def __init__(self, client: GraphApiClient, wa_id: str, memory: ChoiceMemory) -> None:
        self._client = client
        self._wa_id = wa_id
        self._memory = memory

    def __repr__(self) -> str:
        return f"WhatsAppOutput(to={redact(self._wa_id)})"

    async def _send(self, message: dict[str, Any]) -> None:
        await self._client.send(self._wa_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text, split into parts of at most 4096 characters."""
        for part in split_text(text or "", TEXT_LIMIT):
            await self._send(text_message(part))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Reply buttons (1-3), a list (4-10) or a numbered text (more, or unusable ids)."""
        buttons = [b for b in buttons or [] if isinstance(b, dict)]
        if not buttons:
            await self.send_text_message(recipient_id, text)
            return
        payloads = [button_payload(b) for b in buttons]
        titles = [str(b.get("title") or button_payload(b)) for b in buttons]
        if len(buttons) <= MAX_REPLY_BUTTONS:
            short_titles = [truncate(t, REPLY_BUTTON_TITLE_LIMIT) for t in titles]
            if _usable_ids(payloads, REPLY_BUTTON_ID_LIMIT) and _unique(short_titles):
                body = await self._body_after_leading_parts(recipient_id, text)
                await self._memory.forget(recipient_id)
                await self._send({"type": "interactive", "interactive": {
                    "type": "button",
                    "body": {"text": body},
                    "action": {"buttons": [
                        {"type": "reply", "reply": {"id": p, "title": t}}
                        for p, t in zip(payloads, short_titles, strict=True)
                    ]},
                }})
                return
        elif len(buttons) <= MAX_LIST_ROWS and _usable_ids(payloads, LIST_ROW_ID_LIMIT):
            body = await self._body_after_leading_parts(recipient_id, text)
            rows = []
            for payload, title in zip(payloads, titles, strict=True):
                row: dict[str, Any] = {"id": payload,
                                       "title": truncate(title, LIST_ROW_TITLE_LIMIT)}
                if row["title"] != " ".join(title.split()):
                    row["description"] = truncate(title, LIST_ROW_DESCRIPTION_LIMIT)
                rows.append(row)
            await self._memory.forget(recipient_id)
            await self._send({"type": "interactive", "interactive": {
                "type": "list",
                "body": {"text": body},
                "action": {"button": truncate(channel_message("list_button"), LIST_BUTTON_LIMIT),
                           "sections": [{"rows": rows}]},
            }})
            return
        await self._memory.remember(recipient_id, payloads)
        await self.send_text_message(recipient_id, numbered_choices(text or "", buttons))

    async def _body_after_leading_parts(self, recipient_id: str, text: str) -> str:
        """Send all but the last 1024-character part as text; the last part is the body."""
        parts = split_text(text or "", INTERACTIVE_BODY_LIMIT)
        for part in parts[:-1]:
            await self._send(text_message(part))
        return parts[-1] if parts else channel_message("choose_prompt")

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by its public URL."""
        await self._send({"type": "image", "image": {"link": str(image)}})

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        """Send a document by its public URL (anything else as text)."""
        if isinstance(attachment, str) and attachment.startswith("https://"):
            await self._send({"type": "document", "document": {"link": attachment}})
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Send `{"whatsapp": {<message object>}}` as is; ignore other custom payloads."""
        message = json_message.get("whatsapp") if isinstance(json_message, dict) else None
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            await self._send(message)
        else:
            logger.debug("Custom payload without a 'whatsapp' message ignored")


def text_message(body: str) -> dict[str, Any]:
    """A Cloud API text message object."""
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def template_message(name: str, language: str, values: Sequence[str]) -> dict[str, Any]:
    """A template message with `values` as its body parameters ({{1}}, {{2}}, ...).

    Template parameters may hold no line breaks or tabs (nor runs of spaces),
    so each value is folded onto one line and cut to the parameter limit.
    """
    parameters = [{"type": "text", "text": truncate(value, TEMPLATE_PARAMETER_LIMIT)}
                  for value in values]
    return {"type": "template", "template": {
        "name": name, "language": {"code": language},
        "components": [{"type": "body", "parameters": parameters}],
    }}


def window_key(sender: str) -> str:
    """The ephemeral-store key marking an open 24-hour window for a pseudonymous sender."""
    return f"wa-window:{sender}"


async def mark_window_open(store: EphemeralStore, sender: str) -> None:
    """Note that `sender` just wrote: free-form messages are allowed for a day."""
    await store.put(window_key(sender), "1", WINDOW_SECONDS)


class WhatsAppNotifier:
    """Sends a notice to a WhatsApp number outside a conversation (`OutboundSender`)."""

    channel = "whatsapp"

    def __init__(self, client: GraphApiClient, store: EphemeralStore,
                 template: str | None, language: str = "id") -> None:
        self._client = client
        self._store = store
        self._template = template
        self._language = language

    async def send_text(self, recipient: str, text: str,
                        template_values: Sequence[str] = ()) -> Delivery:
        """Free text inside the 24-hour window, else the notice template filled with
        `template_values` (the ticket code and the status, in the template's order)."""
        window_open = await self._store.get(window_key(sender_key(self.channel, recipient)))
        try:
            if window_open is not None:
                for part in split_text(text, TEXT_LIMIT):
                    await self._client.send(recipient, text_message(part))
            elif self._template and not any(value.strip() for value in template_values):
                logger.warning("WhatsApp notice not sent: outside the 24-hour window and the "
                               "notice has no values for the template")
                return Delivery.FAILED
            elif self._template:
                await self._client.send(recipient, template_message(
                    self._template, self._language, template_values))
            else:
                logger.warning("WhatsApp notice not sent: outside the 24-hour window and "
                               "WHATSAPP_NOTIFY_TEMPLATE is not set")
                return Delivery.FAILED
        except GraphApiError as exc:
            logger.warning("WhatsApp notice to %s failed: %s", redact(recipient), exc)
            return Delivery.FAILED
        return Delivery.SENT

    async def close(self) -> None:
        """Close the Graph API client."""
        await self._client.close()


def _usable_ids(payloads: list[str], limit: int) -> bool:
    """Payloads can serve as interactive ids: non-empty, short enough, unique."""
    return all(0 < len(p) <= limit for p in payloads) and _unique(payloads)


def _unique(values: list[str]) -> bool:
    return len(set(values)) == len(values)
