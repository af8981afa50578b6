"""Region entities get the official Kemendagri name when the span is unambiguous."""

from __future__ import annotations

from pathlib import Path

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.region_resolver import RegionEntityResolver


def _resolver(tmp_path: Path) -> RegionEntityResolver:
    return RegionEntityResolver.create(
        RegionEntityResolver.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("region"),
        ExecutionContext(GraphSchema({}), node_name="region"),
    )


def _entity(text: str, span: str, entity: str = "region") -> dict:
    start = text.index(span)
    return {"entity": entity, "start": start, "end": start + len(span), "value": span}


def test_unambiguous_spans_get_the_official_name(tmp_path: Path) -> None:
    text = "ada hoaks di kab garut sama jaksel, viral se kalbar, fb juga"
    message = Message({TEXT: text, ENTITIES: [
        _entity(text, "kab garut"), _entity(text, "jaksel"), _entity(text, "kalbar"),
        _entity(text, "fb", "platform"),
    ]})
    _resolver(tmp_path).process([message])
    values = [e["value"] for e in message.get(ENTITIES)]
    assert values == [
        "Kabupaten Garut", "Kota Administrasi Jakarta Selatan", "Kalimantan Barat", "fb",
    ]
    assert message.get(TEXT) == text
    assert [text[e["start"] : e["end"]] for e in message.get(ENTITIES)][:2] == [
        "kab garut", "jaksel",
    ]


def test_ambiguous_and_unknown_spans_keep_their_value(tmp_path: Path) -> None:
    text = "kejadiannya di pekalongan dan di antah berantah"
    ambiguous = _entity(text, "pekalongan")
    unknown = _entity(text, "antah berantah")
    message = Message({TEXT: text, ENTITIES: [ambiguous, unknown]})
    _resolver(tmp_path).process([message])
    assert [e["value"] for e in message.get(ENTITIES)] == ["pekalongan", "antah berantah"]


def test_a_span_cut_short_is_extended_to_the_region(tmp_path: Path) -> None:
    text = "timses bagi sembako di kab. sidoarjo kemarin"
    message = Message({TEXT: text, ENTITIES: [_entity(text, "kab")]})
    _resolver(tmp_path).process([message])
    [entity] = message.get(ENTITIES)
    assert entity["value"] == "Kabupaten Sidoarjo"
    assert text[entity["start"] : entity["end"]] == "kab. sidoarjo"


def test_a_grown_span_swallows_the_entities_inside_it(tmp_path: Path) -> None:
    # DIET split "kab. tegal" into "kab" and "tegal"; growing the first must not
    # leave the second overlapping it (Rasa's evaluation and slot filling need
    # non-overlapping entities).
    text = "min mau lapor ada isu sara di grup fb warga kab. tegal"
    message = Message({TEXT: text, ENTITIES: [
        _entity(text, "sara", "category"), _entity(text, "kab"), _entity(text, "tegal"),
    ]})
    _resolver(tmp_path).process([message])
    entities = sorted(message.get(ENTITIES), key=lambda e: e["start"])
    assert [(e["entity"], text[e["start"]:e["end"]]) for e in entities] == [
        ("category", "sara"), ("region", "kab. tegal"),
    ]
    assert entities[1]["value"] == "Kabupaten Tegal"
