"""A reviewer in a real browser (headless Chromium over CDP): log in, open a case, change
its status through the form; the database changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console.browser import BrowserError, Chromium
from tests.console.conftest import PASSWORD, Console, case_of, file_report, sql


async def test_a_reviewer_decides_a_case_in_chromium(console: Console, tmp_path: Path) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    try:
        async with Chromium(tmp_path / "profile") as browser:
            page = await browser.new_page()
            await page.goto(f"{console.url}/kasus/{case_id}")
            assert (await page.url()).endswith("/login")  # not logged in yet
            await page.fill("input[name=name]", "pengawas.jateng")
            await page.fill("input[name=password]", PASSWORD)
            await page.submit("form[action='/login']")
            assert (await page.url()).endswith("/antrian"), await page.text()
            assert code in await page.text()

            await page.goto(f"{console.url}/kasus/{case_id}")
            assert "Keputusan untuk seluruh kasus" in await page.text()
            form = f"form[action='/kasus/{case_id}/status']"
            await page.fill(f"{form} select[name=status]", "diproses")
            await page.fill(f"{form} textarea[name=note]", "Sedang dikaji oleh tim siber.")
            await page.submit(form)
            shown = await page.text()
            assert "Status berhasil diubah" in shown
            assert "Sedang dikaji oleh tim siber." in shown
    except BrowserError as error:
        pytest.fail(str(error))
    assert sql(console.store, "SELECT status FROM reports WHERE ticket_code = :c", c=code) == [
        ("diproses",)]
    assert sql(console.store, "SELECT changed_by, note FROM status_changes ORDER BY id DESC "
                              "LIMIT 1") == [("pengawas.jateng", "Sedang dikaji oleh tim siber.")]
