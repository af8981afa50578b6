"""Entity clean-up after DIET: overlapping spans from expanded tokens, ticket codes."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.entity_cleanup import EntitySpanCleaner


def _clean(tmp_path: Path, text: str, entities: list[dict]) -> list[dict]:
    cleaner = EntitySpanCleaner.create(
        {}, LocalModelStorage(tmp_path), Resource("c"),
        ExecutionContext(GraphSchema({}), node_name="c"),
    )
    message = Message({TEXT: text, ENTITIES: entities})
    cleaner.process([message])
    assert message.get(TEXT) == text
    return message.get(ENTITIES)


def _e(text: str, span: str, entity: str) -> dict:
    start = text.index(span)
    return {"entity": entity, "start": start, "end": start + len(span), "value": span,
            "extractor": "DIETClassifier"}


def test_overlapping_spans_of_one_type_are_merged(tmp_path: Path) -> None:
    text = "ada caleg bagi2 duit di desa"
    result = _clean(tmp_path, text, [_e(text, "bagi2", "category"),
                                     _e(text, "bagi2 duit", "category")])
    assert [(text[e["start"]:e["end"]], e["value"]) for e in result] == [
        ("bagi2 duit", "bagi2 duit")
    ]


def test_overlap_of_different_types_keeps_the_longer(tmp_path: Path) -> None:
    text = "paslon 2 nyebar hoax"
    result = _clean(tmp_path, text, [_e(text, "paslon 2", "category"), _e(text, "2", "date")])
    assert [e["entity"] for e in result] == ["category"]


def test_ticket_codes_are_completed_canonical_and_added(tmp_path: Path) -> None:
    text = "tiket lp 9m2kqd sama LP7H3ZN5 gmn"
    result = _clean(tmp_path, text, [_e(text, "lp", "ticket_id")])
    assert [(text[e["start"]:e["end"]], e["value"]) for e in result] == [
        ("lp 9m2kqd", "LP-9M2KQD"), ("LP7H3ZN5", "LP-7H3ZN5"),
    ]
    assert result[1]["extractor"] == "EntitySpanCleaner"


def test_ticket_id_without_a_code_is_dropped(tmp_path: Path) -> None:
    text = "cek tiket saya dong"
    assert _clean(tmp_path, text, [_e(text, "tiket", "ticket_id")]) == []
