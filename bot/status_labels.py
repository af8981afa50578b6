"""Indonesian wording for report statuses, shared by actions and reviewer tools."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

STATUS_LABELS: dict[str, str] = {
    "baru": "Diterima, menunggu kajian awal petugas",
    "diproses": "Sedang ditelaah petugas",
    "diteruskan": "Diteruskan ke instansi atau platform terkait",
    "selesai": "Selesai ditindaklanjuti",
    "ditolak": "Tidak dapat ditindaklanjuti",
}


def status_label(status: str) -> str:
    """The citizen-facing label of a status (the raw value if unknown)."""
    return STATUS_LABELS.get(status, status)
