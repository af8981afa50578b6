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

    assert [essentials(p) for p in offloaded] == [essentials(p) for p in stock]


def essentials(parse: dict) -> tuple:
    """What a parse decides: the intent ranking, the entities, the FAQ topic."""
    return ([(i["name"], round(i["confidence"], 6)) for i in parse["intent_ranking"]],
            [(e["entity"], e.get("value"), e.get("start"), e.get("end"))
             for e in parse["entities"]],
            parse["intent"].get("full_retrieval_intent_name"))


@pytest.mark.slow
def test_messages_parsed_at_once_in_two_threads_give_what_they_give_one_at_a_time(
        agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [example["text"] for example in _test_set_examples()][:120]
    assert len(texts) == 120

    async def one_at_a_time() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    async def all_at_once() -> list[dict]:
        return list(await asyncio.gather(*(agent.parse_message(text) for text in texts)))

    stock = asyncio.run(one_at_a_time())
    lock = threading.Lock()
    running, most, threads = [0], [0], set()
    graph = MessageProcessor._parse_message_with_graph

    def counting(self: MessageProcessor, *args: object, **kwargs: object) -> dict:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        try:
            return graph(self, *args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", counting)
    monkeypatch.setenv("PARSE_THREADS", "2")
    assert parse_offload.install()
    concurrent = asyncio.run(all_at_once())
    assert len(threads) == 2 and most[0] == 2, (threads, most)
    assert [essentials(p) for p in concurrent] == [essentials(p) for p in stock]


def _test_set_examples() -> list[dict]:
    """The held-out test set's messages (tests/nlu/test_set.yml), with their text."""
    from rasa.shared.nlu.training_data.loading import load_data

    path = Path(__file__).resolve().parents[1] / "nlu" / "test_set.yml"
    return [{"text": m.get("text")} for m in load_data(str(path)).intent_examples]


@pytest.mark.parametrize(("value", "threads"), [("", 1), ("1", 1), ("3", 3), ("0", 1),
                                                 ("99", 8), ("two", 1)])
def test_worker_threads_from_the_environment(value: str, threads: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARSE_THREADS", value)
    assert parse_offload.parse_threads() == threads


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    parse_offload.uninstall()  # a channel built by an earlier test may have installed it
    monkeypatch.setenv("PARSE_IN_THREAD", "0")
    stock = MessageProcessor.parse_message
    assert parse_offload.install() is False
    assert MessageProcessor.parse_message is stock
