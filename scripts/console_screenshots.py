"""Screenshots of the reviewers' console for docs/reviewers.md (made-up demo data).

    .venv/bin/python scripts/console_screenshots.py [--out docs/img]

Builds a throwaway database in a temporary folder with a few invented reports (no
real person, phone number or post), serves the console on 127.0.0.1, and drives
Debian's headless Chromium over the DevTools protocol (tests/console/browser.py) to
save konsol-*.png. Nothing outside the temporary folder and --out is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from aiohttp import web

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "contoh-kata-sandi-panjang"  # noqa: S105 - made-up demo accounts only
#: (url, region, category, days since known, fake reporter number)
DEMO_REPORTS = [
    ("https://www.tiktok.com/@akun.contoh/video/7301000000000000001", "33.75", "hoaks", 6,
     "+620000000001"),
    ("https://www.tiktok.com/@akun.contoh/video/7301000000000000001", "33.26", "hoaks", 5,
     "+620000000002"),
    ("https://www.tiktok.com/@akun.contoh/video/7301000000000000001", "33.74", "hoaks", 4,
     "+620000000003"),
    ("https://www.instagram.com/p/CONTOH123ab/", "33.74", "ujaran_kebencian", 2,
     "+620000000004"),
    ("https://x.com/contoh_akun/status/1860000000000000001", "31.71", "kampanye_hitam", 8,
     "+620000000005"),
    ("https://www.youtube.com/watch?v=contoh12345", "33.01", "politik_uang", 1,
     "+620000000006"),
    ("https://www.facebook.com/contoh/posts/100000000000001", "35.78", "netralitas", 3,
     "+620000000007"),
]


def seed(database_url: str) -> int:
    """Fill the demo database; return the case id shown on the case page."""
    from bot.dates import today_wib
    from bot.privacy import sender_key
    from bot.regions import get_region
    from bot.store import NewReport, NewReportLink
    from bot.urls import canonicalize, detect_platform
    from console import casework, referrals
    from console.accounts import Accounts
    from console.store import ConsoleStore

    store = ConsoleStore(database_url)
    accounts = Accounts(store)
    kora = accounts.create_user("koordinator.jateng", "koordinator", [], PASSWORD)
    pengawas = accounts.create_user("pengawas.pekalongan", "pengawas", ["33"], PASSWORD)
    accounts.create_user("admin.bawaslu", "admin", [], PASSWORD)
    tickets = []
    for url, region, category, days, phone in DEMO_REPORTS:
        key = sender_key("whatsapp", phone)
        store.record_consent(key, "whatsapp", contact=phone)
        place = get_region(region)
        filed = store.file_report(NewReport(
            idempotency_key=uuid.uuid4().hex, reporter_key=key, channel="whatsapp",
            category=category, description="Contoh uraian: unggahan ini menyebarkan klaim "
            "yang belum terverifikasi tentang salah satu peserta pemilu.",
            links=[NewReportLink(original_url=url, canonical_url=canonicalize(url),
                                 platform=detect_platform(url), check_status="ok",
                                 http_status=200, page_title="Contoh judul unggahan")],
            region_code=region, region_name=place.display_name if place else None,
            known_date=today_wib() - timedelta(days=days), reported_party="Akun contoh"),
            daily_cap=0)
        tickets.append(filed.ticket_code)
    store.update_status(tickets[0], "diproses", "pengawas.pekalongan", note="Sedang dikaji.")
    case_id = _case_of(store, tickets[0])
    casework.assign(store, kora, case_id, "pengawas.pekalongan")
    casework.add_note(store, pengawas, case_id, "Akun ini juga mengunggah ulang di Instagram.")
    store.update_status(tickets[4], "diteruskan", "koordinator.jateng", destination="x")
    store.update_status(tickets[5], "ditolak", "koordinator.jateng",
                        note="Bukan konten pemilu setelah dikaji.")
    batch = referrals.create_batch(store, kora, "x", [_case_of(store, tickets[4])])
    referrals.mark_sent(store, kora, batch, "X-REF-0001")
    store.dispose()
    return case_id


def _case_of(store, ticket: str) -> int:  # noqa: ANN001 - a ConsoleStore
    from sqlalchemy import text

    with store.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT l.case_id FROM report_links l JOIN reports r ON r.id = l.report_id "
            "WHERE r.ticket_code = :t"), {"t": ticket}).scalar())


def shrink(path: Path) -> None:
    """Re-save the PNG with a 128-colour palette (a third of the size, same legibility)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


async def shoot(database_url: str, case_id: int, out: Path, profile: Path) -> list[Path]:
    """Serve the console and save one screenshot per page."""
    from console.app import make_app
    from console.config import ConsoleSettings
    from console.store import ConsoleStore
    from tests.console.browser import Chromium

    store = ConsoleStore(database_url)
    runner = web.AppRunner(make_app(store, ConsoleSettings(notify_worker=False),
                                   worker_factory=None), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
    base = f"http://127.0.0.1:{port}"
    saved: list[Path] = []
    try:
        async with Chromium(profile, width=1200, height=820) as browser:
            page = await browser.new_page()

            async def save(name: str, full: bool = False) -> None:
                path = out / f"konsol-{name}.png"
                await page.screenshot(path, full_page=full)
                shrink(path)
                saved.append(path)

            async def login(name: str) -> None:
                await page.goto(f"{base}/login")
                await page.fill("input[name=name]", name)
                await page.fill("input[name=password]", PASSWORD)
                await page.submit("form[action='/login']")

            await page.goto(f"{base}/login")
            await page.fill("input[name=name]", "koordinator.jateng")
            await save("masuk")
            await login("koordinator.jateng")
            await save("antrean")
            await page.goto(f"{base}/kasus/{case_id}")
            await save("kasus")
            await page.evaluate("Array.from(document.querySelectorAll('h2')).find("
                                "h => h.textContent.startsWith('Laporan')).scrollIntoView()")
            await save("laporan")
            await page.goto(f"{base}/rujukan")
            await save("rujukan")
            await page.goto(f"{base}/dasbor")
            await save("dasbor")
            await page.goto(f"{base}/login")
            await login("admin.bawaslu")
            await save("pengguna")
            await page.goto(f"{base}/admin/audit")
            await save("audit")
    finally:
        await runner.cleanup()
    return saved


def main(argv: list[str] | None = None) -> int:
    """Make the screenshots; print where they are."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(PROJECT_ROOT))
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lapor-screens-") as folder:
        os.environ["VAR_DIR"] = str(Path(folder) / "var")
        os.environ.pop("DATABASE_URL", None)
        from bot.settings import get_settings

        get_settings.cache_clear()
        database_url = f"sqlite:///{Path(folder) / 'var' / 'reports.db'}"
        case_id = seed(database_url)
        saved = asyncio.run(shoot(database_url, case_id, args.out, Path(folder) / "profile"))
    for path in saved:
        print(path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
