"""The metadata a channel connector sends with each message: one typed contract.

Connectors build it (`ChannelMetadata.attested`, through
`channels.common.message_metadata`) and put `to_dict()` in
`UserMessage.metadata`; the action server reads it back with `from_dict` and
trusts it only when the attestation verifies (`actions.services`).

- `attestation`: `bot.privacy.attest_sender(channel, sender)`, proof that the
  connector verified the sender (signature, secret token, its own session).
- `contact_token`: the raw id encrypted (`bot.privacy.encrypt_contact`), so the
  action server can keep it, encrypted, once the citizen consents. It is
  *transient*: the tracker store removes it before storing an event
  (`bot.tracker_stores`, `TRANSIENT_KEYS`).
- `evidence`: files saved with `bot.evidence.save_evidence`, described by
  `EvidenceFile.to_metadata()`. Parsing checks their shape only; whether the
  file on disk matches is checked where it is used (`EvidenceFile.verify`).
- `location`: a shared location, {"latitude": float, "longitude": float}.

Metadata arrives from outside (anyone who reaches Rasa's REST API can send a
body with metadata), so `from_dict` drops every value of the wrong shape
instead of raising.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.evidence import EvidenceFile
from bot.privacy import attest_sender, encrypt_contact

logger = logging.getLogger(__name__)

ATTESTATION = "attestation"
CONTACT_TOKEN = "contact_token"  # noqa: S105 - a key name, not a secret
EVIDENCE = "evidence"
LOCATION = "location"
#: Keys with a meaning in the contract; anything else travels in `extra`.
CONTRACT_KEYS = frozenset({ATTESTATION, CONTACT_TOKEN, EVIDENCE, LOCATION})
#: Keys that exist only while a message is handled and are never stored.
TRANSIENT_KEYS = frozenset({CONTACT_TOKEN})


@dataclass(frozen=True)
class Location:
    """A location shared by the citizen (WGS 84 degrees)."""

    latitude: float
    longitude: float

    def to_dict(self) -> dict[str, float]:
        """The JSON form in the metadata."""
        return {"latitude": self.latitude, "longitude": self.longitude}

    @classmethod
    def from_dict(cls, value: Any) -> Location | None:
        """Parse `{"latitude": ..., "longitude": ...}`; None when it is not one."""
        if not isinstance(value, Mapping):
            return None
        try:
            latitude, longitude = float(value["latitude"]), float(value["longitude"])
        except (KeyError, TypeError, ValueError):
            return None
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            return None
        if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
            return None
        return cls(latitude, longitude)


@dataclass(frozen=True)
class ChannelMetadata:
    """What a connector tells the action server about one message."""

    attestation: str | None = None
    contact_token: str | None = None
    evidence: tuple[EvidenceFile, ...] = ()
    location: Location | None = None
    #: Other keys a connector added, passed through unchanged.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def attested(
        cls,
        channel: str,
        sender: str,
        raw_contact: str | int | None = None,
        evidence: Iterable[EvidenceFile] = (),
        location: tuple[float, float] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> ChannelMetadata:
        """The metadata a connector sends for a sender it verified.

        `channel` is the input channel name and `sender` the pseudonymous sender
        id given to Rasa: together they are attested. `raw_contact` (a phone
        number, a chat id) is only ever carried encrypted.
        """
        contact = str(raw_contact).strip() if raw_contact is not None else ""
        return cls(
            attestation=attest_sender(channel, sender),
            contact_token=encrypt_contact(str(raw_contact)) if contact else None,
            evidence=tuple(evidence),
            location=(Location(float(location[0]), float(location[1]))
                      if location is not None else None),
            extra={k: v for k, v in (extra or {}).items() if k not in CONTRACT_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form for `UserMessage.metadata`; unset keys are left out."""
        data: dict[str, Any] = dict(self.extra)
        if self.attestation is not None:
            data[ATTESTATION] = self.attestation
        if self.contact_token is not None:
            data[CONTACT_TOKEN] = self.contact_token
        if self.evidence:
            data[EVIDENCE] = [item.to_metadata() for item in self.evidence]
        if self.location is not None:
            data[LOCATION] = self.location.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ChannelMetadata:
        """Read metadata back; values of the wrong shape are dropped (and logged)."""
        if not isinstance(data, Mapping):
            return cls()
        attestation = data.get(ATTESTATION)
        token = data.get(CONTACT_TOKEN)
        raw_files = data.get(EVIDENCE)
        files: list[EvidenceFile] = []
        if isinstance(raw_files, list):
            for raw in raw_files:
                item = EvidenceFile.from_metadata(raw)
                if item is None:
                    logger.warning("Ignoring malformed evidence metadata")
                else:
                    files.append(item)
        return cls(
            attestation=attestation if isinstance(attestation, str) and attestation else None,
            contact_token=token if isinstance(token, str) and token else None,
            evidence=tuple(files),
            location=Location.from_dict(data.get(LOCATION)),
            extra={k: v for k, v in data.items() if k not in CONTRACT_KEYS},
        )
