"""The Graph API client and WhatsApp output formatting, against the fake Graph API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.ephemeral import MemoryStore
from channels.rendering import ChoiceMemory
from channels.whatsapp_api import GraphApiClient, GraphApiError, MediaTooLarge, WhatsAppOutput
from tests.fakes.graph_api import FakeGraphApi

TO = "6281234567890"
SENDER = "psn_aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
def graph() -> Iterator[FakeGraphApi]:
    """A fake Graph API for one test."""
    with FakeGraphApi() as fake:
        yield fake


@pytest.fixture
async def client(graph: FakeGraphApi) -> AsyncIterator[GraphApiClient]:
    """A client of the fake with short backoff delays."""
    api = GraphApiClient(graph.access_token, graph.phone_number_id, graph.base_url,
                         backoff_seconds=0.01, max_attempts=3)
    yield api
    await api.close()


@pytest.fixture
def memory() -> ChoiceMemory:
    """The numbered-choice memory."""
    return ChoiceMemory(MemoryStore())


@pytest.fixture
def output(client: GraphApiClient, memory: ChoiceMemory) -> WhatsAppOutput:
    """An output channel to one WhatsApp user."""
    return WhatsAppOutput(client, TO, memory)


def _buttons(count: int, title: str = "Pilihan") -> list[dict[str, str]]:
    return [{"title": f"{title} {i}", "payload": f"/choose{{\"n\": {i}}}"} for i in range(count)]


async def test_text_is_sent_with_bearer_token(output: WhatsAppOutput, graph: FakeGraphApi) -> None:
    await output.send_response(SENDER, {"text": "Terima kasih atas laporan Anda."})
    [request] = graph.requests
    assert request.path == f"/v21.0/{graph.phone_number_id}/messages"
    assert request.headers["Authorization"] == f"Bearer {graph.access_token}"
    text = "Terima kasih atas laporan Anda."
    assert request.body == {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": TO, "type": "text",
                            "text": {"preview_url": False, "body": text}}


async def test_long_text_is_split_at_4096(output: WhatsAppOutput, graph: FakeGraphApi) -> None:
    paragraph = ("Kata " * 300).strip()
    text = "\n\n".join([paragraph] * 7)  # about 10,500 characters
    await output.send_text_message(SENDER, text)
    bodies = [m["text"]["body"] for m in graph.sent_messages()]
    assert len(bodies) == 4  # split at paragraph breaks: two paragraphs per part
    assert all(len(b) <= 4096 for b in bodies)
    assert " ".join(" ".join(bodies).split()) == " ".join(text.split())


async def test_up_to_three_buttons_are_reply_buttons(output: WhatsAppOutput,
                                                     graph: FakeGraphApi) -> None:
    buttons = [{"title": "Lapor pelanggaran", "payload": "/report_violation"},
               {"title": "Tanya aturan kampanye pemilu", "payload": "/ask_rules"},
               {"title": "Cek status laporan", "payload": "/check_status"}]
    await output.send_response(SENDER, {"text": "Ada yang bisa saya bantu?", "buttons": buttons})
    [sent] = graph.sent_messages()
    interactive = sent["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Ada yang bisa saya bantu?"}
    replies = [b["reply"] for b in interactive["action"]["buttons"]]
    assert [r["id"] for r in replies] == ["/report_violation", "/ask_rules", "/check_status"]
    assert replies[1]["title"] == "Tanya aturan kampan…"
    assert all(len(r["title"]) <= 20 for r in replies)


async def test_long_body_before_buttons_is_sent_first(output: WhatsAppOutput,
                                                      graph: FakeGraphApi) -> None:
    text = " ".join(["Penjelasan"] * 200)  # about 2,200 characters
    await output.send_text_with_buttons(SENDER, text, _buttons(2))
    sent = graph.sent_messages()
    assert [m["type"] for m in sent] == ["text", "text", "interactive"]
    assert len(sent[-1]["interactive"]["body"]["text"]) <= 1024


@pytest.mark.parametrize("count", [4, 10])
async def test_four_to_ten_buttons_are_a_list(output: WhatsAppOutput, graph: FakeGraphApi,
                                              count: int) -> None:
    buttons = _buttons(count, title="Kampanye di luar jadwal yang ditetapkan")
    await output.send_text_with_buttons(SENDER, "Pilih kategori pelanggaran:", buttons)
    [sent] = graph.sent_messages()
    interactive = sent["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "Pilih"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [b["payload"] for b in buttons]
    assert all(len(r["title"]) <= 24 for r in rows)
    assert rows[0]["title"] == "Kampanye di luar jadwal…"
    assert rows[0]["description"] == "Kampanye di luar jadwal yang ditetapkan 0"


async def test_more_than_ten_buttons_are_numbered(output: WhatsAppOutput, graph: FakeGraphApi,
                                                  memory: ChoiceMemory) -> None:
    buttons = _buttons(12)
    await output.send_text_with_buttons(SENDER, "Pilih provinsi:", buttons)
    [sent] = graph.sent_messages()
    assert sent["type"] == "text"
    body = sent["text"]["body"]
    assert body.startswith("Pilih provinsi:\n\n1. Pilihan 0\n")
    assert "12. Pilihan 11" in body
    assert await memory.resolve(SENDER, "12") == buttons[11]["payload"]
    # Buttons shown later as real buttons make old numbers meaningless.
    await output.send_text_with_buttons(SENDER, "Lanjut?", _buttons(2))
    assert await memory.resolve(SENDER, "1") is None


async def test_duplicate_or_long_ids_fall_back_to_numbers(output: WhatsAppOutput,
                                                          graph: FakeGraphApi) -> None:
    buttons = [{"title": "Ya", "payload": "/affirm"}, {"title": "Ya juga", "payload": "/affirm"}]
    await output.send_text_with_buttons(SENDER, "Benar?", buttons)
    long_ids = [{"title": f"T{i}", "payload": "/x" + "y" * 300 + str(i)} for i in range(5)]
    await output.send_text_with_buttons(SENDER, "Pilih:", long_ids)
    assert [m["type"] for m in graph.sent_messages()] == ["text", "text"]


async def test_image_is_sent_by_link(output: WhatsAppOutput, graph: FakeGraphApi) -> None:
    await output.send_response(SENDER, {"image": "https://example.org/infografis.png"})
    [sent] = graph.sent_messages()
    assert sent["type"] == "image"
    assert sent["image"] == {"link": "https://example.org/infografis.png"}


@pytest.mark.parametrize(("status", "retry_after"), [(429, "0"), (500, None), (503, None)])
async def test_rate_limits_and_server_errors_are_retried(
        output: WhatsAppOutput, graph: FakeGraphApi, status: int, retry_after: str | None) -> None:
    graph.fail_next(status, count=2, retry_after=retry_after)
    await output.send_text_message(SENDER, "Halo")
    posts = [r for r in graph.requests if r.method == "POST"]
    assert len(posts) == 3
    assert [m["text"]["body"] for m in graph.sent_messages()] == ["Halo"]


async def test_retries_give_up(output: WhatsAppOutput, graph: FakeGraphApi) -> None:
    graph.fail_next(500, count=5)
    with pytest.raises(GraphApiError) as raised:
        await output.send_text_message(SENDER, "Halo")
    assert raised.value.status == 500
    assert len(graph.requests) == 3
    assert TO not in str(raised.value)


async def test_client_errors_are_not_retried(client: GraphApiClient, graph: FakeGraphApi) -> None:
    bad = GraphApiClient("wrong-token", graph.phone_number_id, graph.base_url,
                         backoff_seconds=0.01)
    try:
        with pytest.raises(GraphApiError) as raised:
            await bad.send(TO, {"type": "text", "text": {"body": "x"}})
    finally:
        await bad.close()
    assert raised.value.status == 401
    assert "190" in str(raised.value)
    assert len(graph.requests) == 1
    assert "wrong-token" not in repr(bad)


async def test_unreachable_api_fails_clearly() -> None:
    from tests.integration.servers import free_port

    api = GraphApiClient("t", "1", f"http://127.0.0.1:{free_port()}/v21.0",
                         backoff_seconds=0.01, max_attempts=2)
    try:
        with pytest.raises(GraphApiError, match="after 2 attempts"):
            await api.send(TO, {"type": "text", "text": {"body": "x"}})
    finally:
        await api.close()


async def test_media_download_retries_and_caps(client: GraphApiClient,
                                               graph: FakeGraphApi) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"1" * 5000
    media_id = graph.add_media(data, "image/png")
    graph.fail_next(429, retry_after="0")
    media = await client.download_media(media_id, max_bytes=10_000)
    assert media.data == data and media.mime_type == "image/png"
    with pytest.raises(MediaTooLarge):
        await client.download_media(media_id, max_bytes=100)
    lying = graph.add_media(data, "image/png", announced_size=10)
    with pytest.raises(MediaTooLarge):
        await client.download_media(lying, max_bytes=1000)
    with pytest.raises(GraphApiError):
        await client.download_media("../etc", max_bytes=1000)
