"""bot.parse_offload: the NLU graph runs in its worker thread and parses as Rasa does."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.agent import Agent, load_agent
from rasa.core.processor import MessageProcessor

from bot import parse_offload

MESSAGES = ["kapan masa tenang", "ada hoaks di tiktok http://vt.tiktok.com/ZS8xyz/ kemarin",
            "cek status LP-7K3QX9", "makasih min"]


@pytest.fixture
def agent(trained_model: Path) -> Iterator[Agent]:
    yield asyncio.run(load_agent(model_path=str(trained_model)))
    parse_offload.uninstall()


@pytest.mark.slow
def test_parsing_in_the_worker_thread_gives_rasas_own_results(
        agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in MESSAGES]

    stock = asyncio.run(parse_all())
    threads: list[str] = []
    graph = MessageProcessor._parse_message_with_graph

    def recording(self: MessageProcessor, *args: object, **kwargs: object) -> dict:
        threads.append(threading.current_thread().name)
        return graph(self, *args, **kwargs)

    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", recording)
    assert parse_offload.install()
    assert parse_offload.install()  # idempotent: every channel calls it
    offloaded = asyncio.run(parse_all())
    assert len(threads) == len(MESSAGES)
    assert all(name.startswith("nlu-parse") for name in threads), threads

    def essentials(parse: dict) -> tuple:
        return (parse["intent"]["name"], round(parse["intent"]["confidence"], 6),
                [(e["entity"], e.get("value")) for e in parse["entities"]],
                parse["intent"].get("full_retrieval_intent_name"))

    assert [essentials(p) for p in offloaded] == [essentials(p) for p in stock]


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    parse_offload.uninstall()  # a channel built by an earlier test may have installed it
    monkeypatch.setenv("PARSE_IN_THREAD", "0")
    stock = MessageProcessor.parse_message
    assert parse_offload.install() is False
    assert MessageProcessor.parse_message is stock
