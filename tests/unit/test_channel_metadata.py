"""The channel metadata contract: what connectors send, what the action server reads."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channel_metadata import (
    CONTACT_TOKEN,
    TRANSIENT_KEYS,
    ChannelMetadata,
    Location,
)
from bot.evidence import EvidenceFile, content_path
from bot.privacy import decrypt_contact, sender_key, verify_attestation
from bot.tracker_stores import TRANSIENT_METADATA_KEYS, scrub
from channels.common import message_metadata

SHA = "ab" * 32
FILE = EvidenceFile("image", "image/png", 10, SHA, content_path(SHA, ".png"))


def test_a_connector_message_reads_back_as_it_was_built() -> None:
    sender = sender_key("telegram", 4242)
    built = ChannelMetadata.attested("telegram", sender, raw_contact=4242, evidence=[FILE],
                                     location=(-6.9, 109.6), extra={"update": 7})
    read = ChannelMetadata.from_dict(built.to_dict())
    assert read == built
    assert verify_attestation("telegram", sender, read.attestation)
    assert read.contact_token and decrypt_contact(read.contact_token) == "4242"
    assert read.evidence == (FILE,)
    assert read.location == Location(-6.9, 109.6)
    assert read.extra == {"update": 7}


def test_message_metadata_is_the_contract_as_a_dict() -> None:
    sender = sender_key("whatsapp", "6281234567890")
    metadata = message_metadata("whatsapp", sender, raw_contact="6281234567890",
                                evidence=[FILE], source="test")
    assert set(metadata) == {"attestation", "contact_token", "evidence", "source"}
    assert ChannelMetadata.from_dict(metadata).evidence == (FILE,)
    # A blank contact is no contact; extra keys cannot overwrite contract keys.
    bare = message_metadata("whatsapp", sender, raw_contact="  ", attestation="forged")
    assert set(bare) == {"attestation"} and bare["attestation"] != "forged"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "attestation",
        {"attestation": 5, "contact_token": ["x"], "evidence": "not a list",
         "location": {"latitude": "north"}},
        {"evidence": [{"kind": "image"}, {**FILE.to_metadata(), "storage_path": "/etc/passwd"}],
         "location": {"latitude": 91, "longitude": 0}},
        {"location": {"latitude": float("nan"), "longitude": 0}},
    ],
)
def test_values_of_the_wrong_shape_are_dropped(raw: Any) -> None:
    read = ChannelMetadata.from_dict(raw)
    assert (read.attestation, read.contact_token, read.evidence, read.location) == (
        None, None, (), None)


def test_the_tracker_store_drops_exactly_the_transient_keys() -> None:
    assert TRANSIENT_METADATA_KEYS == TRANSIENT_KEYS == {CONTACT_TOKEN}
    metadata = ChannelMetadata.attested("webchat", sender_key("webchat", "s"),
                                        raw_contact="s").to_dict()
    event = {"event": "user", "metadata": metadata}
    assert set(scrub(event)["metadata"]) == {"attestation"}
