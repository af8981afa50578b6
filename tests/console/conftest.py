"""The reviewers' console on a real SQLite database, served by a real aiohttp server.

`console` gives a running console (aiohttp's TestServer on 127.0.0.1, a free port)
with four accounts and their API tokens; `file_report` files citizen reports
through the real report store, with an encrypted contact for the reporter.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bot.clock import fixed_day
from bot.dates import today_wib
from bot.privacy import sender_key
from bot.store import NewEvidence, NewReport, NewReportLink
from bot.urls import canonicalize, detect_platform
from console.accounts import Accounts
from console.app import make_app
from console.config import ConsoleSettings
from console.store import ConsoleStore
from tests.integration.conftest import (  # noqa: F401 - fixtures for the PostgreSQL tests
    fresh_postgres_url,
    postgres_server,
)

#: The console's today is the real one: reports are filed with the real time.
TODAY = today_wib()
#: When the default test report's content became known (deadline: 4 days ahead).
KNOWN = TODAY - timedelta(days=3)
PASSWORD = "kata-sandi-uji-yang-panjang"
PHONE = "+6281234567890"
#: name -> (role, regions)
USERS = {
    "kora": ("koordinator", []),
    "pengawas.jateng": ("pengawas", ["33"]),
    "pengawas.aceh": ("pengawas", ["11"]),
    "admin1": ("admin", []),
}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'reports.db'}"


@pytest.fixture
def store(database_url: str) -> Iterator[ConsoleStore]:
    instance = ConsoleStore(database_url)
    yield instance
    instance.dispose()


def file_report(store: ConsoleStore, url: str = "https://www.tiktok.com/@akun/video/123",
                region: str | None = "33.75", category: str = "hoaks",
                known: date | None = KNOWN, phone: str | None = PHONE,
                channel: str = "whatsapp", evidence: list[NewEvidence] | None = None,
                description: str = "Video hoaks tentang paslon, diunggah ulang banyak akun."
                ) -> str:
    """File a report (with consent and an encrypted contact); return its ticket code."""
    reporter = sender_key(channel, phone) if phone else None
    if reporter:
        store.record_consent(reporter, channel, contact=phone)
    link = NewReportLink(original_url=url, canonical_url=canonicalize(url),
                         platform=detect_platform(url), check_status="ok", http_status=200,
                         page_title="Judul video")
    return store.file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=reporter, channel=channel,
        category=category, description=description, links=[link], region_code=region,
        region_name="Kota Pekalongan (Jawa Tengah)" if region == "33.75" else None,
        known_date=known, reported_party="Akun @akun", evidence=evidence or []),
        daily_cap=0).ticket_code


def case_of(store: ConsoleStore, ticket: str) -> int:
    """The case id of a report's (first) link."""
    with store.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT l.case_id FROM report_links l JOIN reports r ON r.id = l.report_id "
            "WHERE r.ticket_code = :t ORDER BY l.id LIMIT 1"), {"t": ticket}).scalar())


def sql(store: ConsoleStore, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run SQL directly (outside the console's code), returning rows for a SELECT."""
    with store.engine.begin() as connection:
        result = connection.execute(text(statement), params)
        return [tuple(row) for row in result.all()] if result.returns_rows else []


@dataclass
class Console:
    """A running console, its store, and an API token per account."""

    client: TestClient
    store: ConsoleStore
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return str(self.client.make_url("/")).rstrip("/")

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    async def get_json(self, path: str, user: str = "kora", status: int = 200) -> Any:
        response = await self.client.get(path, headers=self.auth(user))
        body = await response.json()
        assert response.status == status, body
        return body

    async def post_json(self, path: str, body: Any, user: str = "kora",
                        status: int = 200) -> Any:
        response = await self.client.post(path, json=body, headers=self.auth(user))
        answer = await response.json()
        assert response.status == status, answer
        return answer

    async def login(self, name: str, password: str = PASSWORD) -> str:
        """Log in through the form (as the only user of this client); return the
        session's CSRF token, read from a page."""
        self.client.session.cookie_jar.clear()
        page = await self.client.get("/login")
        token = csrf_from(await page.text())
        response = await self.client.post("/login", data={
            "csrf_token": token, "name": name, "password": password}, allow_redirects=False)
        assert response.status == 303, await response.text()
        home = await self.client.get("/antrian" if name != "admin1" else "/admin/pengguna")
        return csrf_from(await home.text())


def csrf_from(html: str) -> str:
    """The first CSRF token in a page's forms."""
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def make_users(store: ConsoleStore, settings: ConsoleSettings) -> dict[str, str]:
    accounts = Accounts(store, settings)
    tokens = {}
    for name, (role, regions) in USERS.items():
        accounts.create_user(name, role, regions, PASSWORD)
        tokens[name] = accounts.create_token(name)
    return tokens


@pytest.fixture
def settings() -> ConsoleSettings:
    return ConsoleSettings(notify_worker=False)


@pytest.fixture
async def console(store: ConsoleStore, settings: ConsoleSettings) -> AsyncIterator[Console]:
    tokens = make_users(store, settings)
    app = make_app(store, settings, today=fixed_day(TODAY), worker_factory=None)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield Console(client, store, tokens)
    finally:
        await client.close()
