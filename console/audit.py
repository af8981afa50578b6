"""The audit log: who viewed, exported, decided or revealed what, and when.

Entries are only ever added (`record`); there is no function that changes or
deletes one, and database triggers refuse UPDATE and DELETE on `audit_log`
(bot/store/models.py, migration 0003). `detail` is a small JSON object of plain
values; keys that could carry contact data are refused, so a programming mistake
fails loudly instead of writing a phone number into a log nobody can edit.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import AuditEntry, utcnow

logger = logging.getLogger(__name__)

#: Detail keys never accepted (the reveal's audit records only the reason).
FORBIDDEN_KEYS = frozenset({"contact", "phone", "telegram_id", "sender_key", "reporter_key",
                            "contact_encrypted", "password", "token"})
MAX_DETAIL_CHARS = 4000
MAX_PAGE = 200


@dataclass(frozen=True)
class Entry:
    """One audit log entry as the admin page shows it."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"audit detail values must be plain JSON values, got {type(value).__name__}")


def record(session: Session, actor: str, action: str, target: str | None = None,
           **detail: Any) -> None:
    """Add an entry in the caller's transaction (None values are left out)."""
    bad = FORBIDDEN_KEYS.intersection(detail)
    if bad:
        raise ValueError(f"audit detail may not contain {sorted(bad)}")
    body = json.dumps({key: _plain(value) for key, value in sorted(detail.items())
                       if value is not None}, ensure_ascii=False, separators=(",", ":"))
    if len(body) > MAX_DETAIL_CHARS:
        raise ValueError("audit detail is too long")
    session.add(AuditEntry(at=utcnow(), actor=actor[:64], action=action[:40],
                           target=(target or None) and target[:200], detail=body))


def entries(session: Session, limit: int = 50, before_id: int | None = None,
            actor: str | None = None, action: str | None = None) -> list[Entry]:
    """The newest entries first (at most MAX_PAGE), optionally filtered."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, MAX_PAGE)))
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    return [Entry(row.id, row.at, row.actor, row.action, row.target, json.loads(row.detail))
            for row in session.scalars(query).all()]
