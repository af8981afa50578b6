"""Screenshots put reports in one case: the same picture forwarded by several people,
screenshots of the same post, and reports that carry the post's link (SQLite and
PostgreSQL). The pictures are rendered by tests/screenshot_corpus.py and hashed for
real; the texts are as the reader returns them."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from bot.ocr.fingerprint import perceptual_hash
from bot.store import NewEvidence, NewReport, NewReportLink, ReportStore
from tests.screenshot_corpus import render, spoil

POST = "Jangan pilih calon itu, dia antek asing dan musuh agama kita!"
OTHER_POST = "Bagi-bagi sembako gratis dari tim pemenangan, datang ke balai desa besok pagi."
LINK = "https://vt.tiktok.com/ZSabc123"
BACKENDS = ["sqlite", "postgresql"]


def screenshot(post: str, handle: str = "@akunpalsu", dark: bool = False,
               seed: int = 1) -> tuple[bytes, str]:
    """A spoiled screenshot of a post and the text a reader returns for it."""
    rng = random.Random(seed)
    image = render("tiktok", handle, post, "vt.tiktok.com/ZSabc123", dark=dark,
                   url_place="text", rng=rng)
    read = (f"{handle} Mengikuti\n2 jam\n{post}\nvt.tiktok.com/ZSabc123\n"
            f"{rng.randrange(1, 999)},5 rb Suka 864 Komentar 14 rb Bagikan")
    return spoil(image, rng), read


def respoiled(data: bytes, seed: int) -> bytes:
    """The same picture forwarded again: rescaled, noised, compressed once more."""
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((720, 1280))
    return spoil(image, random.Random(seed))


def evidence(data: bytes, read: str) -> NewEvidence:
    digest = hashlib.sha256(data).hexdigest()
    return NewEvidence(kind="image", mime_type="image/jpeg", size_bytes=len(data),
                       sha256=digest, storage_path=f"evidence/{digest[:2]}/{digest}.jpg",
                       extracted_text=read, perceptual_hash=perceptual_hash(data, 10**8))


def report(reporter: str, image: NewEvidence, link: str | None = None) -> NewReport:
    links = [NewReportLink(original_url=link, canonical_url=link, platform="tiktok",
                           check_status="ok")] if link else []
    return NewReport(idempotency_key=uuid.uuid4().hex, reporter_key=reporter, channel="rest",
                     category="hoaks", description=POST, links=links, evidence=[image],
                     screenshot_platform="tiktok")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStore]:
    url = (f"sqlite:///{tmp_path / 'reports.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("fresh_postgres_url")))
    instance = ReportStore(url)
    yield instance
    instance.dispose()


def rows(store: ReportStore, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params).all()]


def cases_of(store: ReportStore, ticket: str) -> list[tuple[str, str | None]]:
    return rows(store, "SELECT c.canonical_url, l.check_status FROM report_links l "
                "JOIN cases c ON c.id = l.case_id JOIN reports r ON r.id = l.report_id "
                "WHERE r.ticket_code = :t ORDER BY l.id", t=ticket)


def test_a_forwarded_screenshot_without_a_link_is_one_case(store: ReportStore) -> None:
    data, read = screenshot(POST)
    first = store.file_report(report("psn_a", evidence(data, read)), 0).ticket_code
    again = store.file_report(report("psn_b", evidence(respoiled(data, 5), read)),
                              0).ticket_code
    [(case, status)] = cases_of(store, first)
    assert case.startswith("screenshot:") and status == "no_link"
    assert cases_of(store, again) == [(case, "screenshot_match")]
    assert rows(store, "SELECT report_count, platform FROM cases") == [(2, "tiktok")]
    # Both texts and hashes are kept with the evidence.
    assert [r[0] == read and len(r[1]) == 256 for r in rows(
        store, "SELECT extracted_text, perceptual_hash FROM evidence")] == [True, True]


def test_screenshots_of_different_posts_stay_apart(store: ReportStore) -> None:
    one = store.file_report(report("psn_a", evidence(*screenshot(POST))), 0).ticket_code
    other_data, other_read = screenshot(OTHER_POST, handle="@kabar_jateng", seed=2)
    two = store.file_report(report("psn_b", evidence(other_data, other_read)), 0).ticket_code
    assert cases_of(store, one) != cases_of(store, two)
    assert len(rows(store, "SELECT id FROM cases")) == 2


def test_another_screenshot_of_the_same_post_joins_the_case_of_its_link(
    store: ReportStore,
) -> None:
    light, light_read = screenshot(POST)
    with_link = store.file_report(report("psn_a", evidence(light, light_read), LINK),
                                  0).ticket_code
    # Another phone, dark mode: another picture, the same words.
    dark, dark_read = screenshot(POST, dark=True, seed=9)
    only_picture = store.file_report(report("psn_b", evidence(dark, dark_read)), 0).ticket_code
    assert cases_of(store, with_link) == [(LINK, "ok")]
    assert cases_of(store, only_picture) == [(LINK, "screenshot_match")]
    assert rows(store, "SELECT report_count FROM cases") == [(2,)]


def test_a_link_found_later_gathers_the_screenshot_case(store: ReportStore) -> None:
    data, read = screenshot(POST)
    early = store.file_report(report("psn_a", evidence(data, read)), 0).ticket_code
    assert cases_of(store, early)[0][0].startswith("screenshot:")
    late = store.file_report(report("psn_b", evidence(respoiled(data, 3), read), LINK),
                             0).ticket_code
    # One case for reviewers: the link's, with both reports.
    assert cases_of(store, late) == [(LINK, "ok")]
    assert cases_of(store, early) == [(LINK, "screenshot_match")]
    counts = dict(rows(store, "SELECT canonical_url, report_count FROM cases"))
    assert counts[LINK] == 2 and [n for url, n in counts.items() if url != LINK] == [0]
