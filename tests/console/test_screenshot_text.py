"""Reviewers see what was read from a screenshot: next to the image on the case page,
under `evidence[].text` in the API, and a case without any link says so."""

from __future__ import annotations

import dataclasses
import uuid

from bot.privacy import sender_key
from bot.store import NewReport
from tests.console.conftest import PHONE, Console, case_of, file_report, sql
from tests.console.test_pages import stored_png

READ = "@akunpalsu Mengikuti\nJangan pilih calon itu, dia antek asing!\nvt.tiktok.com/ZSabc123"


def file_screenshot_only(console: Console, text: str = READ) -> str:
    """A report from a screenshot without a link (as the form files it)."""
    reporter = sender_key("whatsapp", PHONE)
    console.store.record_consent(reporter, "whatsapp", contact=PHONE)
    image = dataclasses.replace(stored_png(), extracted_text=text, perceptual_hash="f" * 256)
    return console.store.file_report(NewReport(
        idempotency_key=uuid.uuid4().hex, reporter_key=reporter, channel="whatsapp",
        category="hoaks", description="Unggahan yang menyebut paslon antek asing.",
        region_code="33.75", region_name="Kota Pekalongan (Jawa Tengah)",
        evidence=[image], screenshot_platform="tiktok"), daily_cap=0).ticket_code


async def test_api_report_detail_has_the_text_read_from_each_image(console: Console) -> None:
    image = dataclasses.replace(stored_png(), extracted_text=READ)
    code = file_report(console.store, evidence=[image])
    body = await console.get_json(f"/api/reports/{code}")
    assert [item["text"] for item in body["evidence"]] == [READ]
    plain = file_report(console.store, evidence=[stored_png()])
    assert [item["text"] for item in (await console.get_json(f"/api/reports/{plain}"))[
        "evidence"]] == [None]


async def test_case_page_shows_the_text_next_to_the_image(console: Console) -> None:
    image = dataclasses.replace(stored_png(), extracted_text=READ + "\n<script>x</script>")
    code = file_report(console.store, evidence=[image])
    await console.login("pengawas.jateng")
    html = await (await console.client.get(f"/kasus/{case_of(console.store, code)}")).text()
    evidence_id = sql(console.store, "SELECT id FROM evidence")[0][0]
    figure = html[html.index(f'src="/bukti/{evidence_id}"'):]
    figure = figure[:figure.index("</figure>")]
    assert "Teks terbaca dari gambar" in figure and "vt.tiktok.com/ZSabc123" in figure
    assert "Jangan pilih calon itu" in figure
    assert "<script>x" not in html and "&lt;script&gt;x" in figure  # escaped


async def test_a_case_without_a_link_says_so_and_is_not_rechecked(console: Console) -> None:
    code = file_screenshot_only(console)
    case_id = case_of(console.store, code)
    canonical, platform = sql(console.store, "SELECT canonical_url, platform FROM cases "
                              "WHERE id = :i", i=case_id)[0]
    assert canonical.startswith("screenshot:") and platform == "tiktok"
    await console.login("pengawas.jateng")
    html = await (await console.client.get(f"/kasus/{case_id}")).text()
    assert "Tanpa tautan" in html and "hanya tangkapan layar" in html
    assert f'<dd class="url">{canonical}' not in html
    queue = await (await console.client.get("/antrian")).text()
    assert "Tanpa tautan (tangkapan layar)" in queue and canonical not in queue
    body = await console.get_json(f"/api/reports/{code}")
    assert [link["no_link"] for link in body["links"]] == [True]
    assert body["evidence"][0]["text"] == READ
    # Re-checking fetches nothing: there is no link.
    token = await console.login("pengawas.jateng")
    await console.client.post(f"/kasus/{case_id}/cek-ulang", data={"csrf_token": token})
    assert sql(console.store, "SELECT count(*) FROM case_link_checks")[0][0] == 0
