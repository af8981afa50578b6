"""The server-rendered pages: queue, case, decision forms, evidence, referrals, dashboard,
accounts; Indonesian text, role limits and polite answers to bad input."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from bot.evidence import content_path
from bot.privacy import sender_key
from bot.settings import get_settings
from bot.store import NewEvidence
from tests.console.conftest import PHONE, Console, case_of, csrf_from, file_report, sql

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def stored_png() -> NewEvidence:
    digest = hashlib.sha256(PNG).hexdigest()
    relative = content_path(digest, ".png")
    path = get_settings().var_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PNG)
    return NewEvidence(kind="image", mime_type="image/png", size_bytes=len(PNG), sha256=digest,
                       storage_path=relative)


async def test_queue_page_filters_and_roles(console: Console) -> None:
    code = file_report(console.store)
    file_report(console.store, "https://x.com/a/status/5", region="11.01", category="sara")
    await console.login("pengawas.jateng")
    page = await console.client.get("/antrian")
    html = await page.text()
    assert page.status == 200 and "Antrean kasus" in html and code in html
    assert "x.com" not in html  # Aceh is not this pengawas's region
    assert "Kota Pekalongan" in html and "lewat" not in html
    page = await console.client.get("/antrian?status=bogus&dari=kemarin")
    assert page.status == 400 and "filter tidak valid" in await page.text()
    page = await console.client.get("/antrian?q=status/5")
    assert "Tidak ada kasus" in await page.text()
    assert (await console.client.get("/rujukan")).status == 403
    assert (await console.client.get("/admin/pengguna")).status == 403
    await console.login("admin1")
    page = await console.client.get("/antrian")
    assert page.status == 403 and "tidak mengizinkan" in await page.text()


async def test_case_page_shows_a_pseudonym_evidence_and_history(console: Console) -> None:
    code = file_report(console.store, evidence=[stored_png()])
    case_id = case_of(console.store, code)
    await console.login("pengawas.jateng")
    page = await console.client.get(f"/kasus/{case_id}")
    html = await page.text()
    assert page.status == 200 and code in html and "Judul video" in html
    assert sender_key("whatsapp", PHONE) not in html and "psn_" not in html
    assert "P-" in html and "label samaran" in html
    assert "Buka kontak pelapor" not in html  # koordinator only
    evidence_id = sql(console.store, "SELECT id FROM evidence")[0][0]
    assert f'src="/bukti/{evidence_id}"' in html
    image = await console.client.get(f"/bukti/{evidence_id}")
    assert image.status == 200 and await image.read() == PNG
    assert image.content_type == "image/png" and image.headers["Cache-Control"] == "no-store"
    await console.login("pengawas.aceh")
    assert (await console.client.get(f"/bukti/{evidence_id}")).status == 404
    assert (await console.client.get(f"/kasus/{case_id}")).status == 404
    assert (await console.client.get("/kasus/424242")).status == 404
    actions = [row[0] for row in sql(console.store, "SELECT action FROM audit_log")]
    assert "case.view" in actions and "evidence.view" in actions


async def test_decision_forms(console: Console) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    token = await console.login("pengawas.jateng")
    response = await console.client.post(f"/kasus/{case_id}/status", data={
        "csrf_token": token, "status": "ditolak", "note": ""}, allow_redirects=False)
    assert response.status == 400 and "Catatan wajib diisi" in await response.text()
    response = await console.client.post(f"/laporan/{code}/status", data={
        "csrf_token": token, "status": "diteruskan", "destination": "tiktok",
        "note": "diteruskan ke TikTok", "case_id": str(case_id)}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/kasus/{case_id}?pesan=saved_status"
    page = await console.client.get(response.headers["Location"])
    html = await page.text()
    assert "Status berhasil diubah" in html and "diteruskan ke TikTok" in html
    response = await console.client.post(f"/kasus/{case_id}/status", data={
        "csrf_token": token, "status": "baru"}, allow_redirects=False)
    assert response.status == 409 and "tidak diizinkan" in await response.text()
    assert sql(console.store, "SELECT status FROM reports") == [("diteruskan",)]
    assert sql(console.store, "SELECT destination, changed_by FROM status_changes "
                              "ORDER BY id DESC LIMIT 1") == [("tiktok", "pengawas.jateng")]


async def test_assignment_and_notes(console: Console) -> None:
    code = file_report(console.store)
    case_id = case_of(console.store, code)
    token = await console.login("kora")
    response = await console.client.post(f"/kasus/{case_id}/penugasan", data={
        "csrf_token": token, "assignee": "pengawas.jateng"}, allow_redirects=False)
    assert response.status == 303
    response = await console.client.post(f"/kasus/{case_id}/penugasan", data={
        "csrf_token": token, "assignee": "admin1"}, allow_redirects=False)
    assert response.status == 400
    token = await console.login("pengawas.jateng")
    page = await console.client.get("/antrian?petugas=saya")
    assert code in await page.text()
    response = await console.client.post(f"/kasus/{case_id}/penugasan", data={
        "csrf_token": token, "assignee": "pengawas.jateng"}, allow_redirects=False)
    assert response.status == 403
    response = await console.client.post(f"/kasus/{case_id}/catatan", data={
        "csrf_token": token, "text": "   "}, allow_redirects=False)
    assert response.status == 400 and "tidak boleh kosong" in await response.text()


async def test_referral_batch_flow(console: Console) -> None:
    first = file_report(console.store, "https://www.tiktok.com/@a/video/101")
    second = file_report(console.store, "https://www.instagram.com/p/Cx1_abc/", category="sara")
    tiktok_case, meta_case = case_of(console.store, first), case_of(console.store, second)
    token = await console.login("kora")
    page = await console.client.get("/rujukan")
    html = await page.text()
    assert page.status == 200 and "Cx1_abc" in html and "101" in html
    response = await console.client.post("/rujukan", data={
        "csrf_token": token, "platform": "tiktok", "case_id": str(meta_case)})
    assert response.status == 400 and "bukan dari platform ini" in await response.text()
    response = await console.client.post("/rujukan", data={
        "csrf_token": token, "platform": "tiktok", "case_id": str(tiktok_case)},
        allow_redirects=False)
    assert response.status == 303
    batch_id = sql(console.store, "SELECT id FROM referral_batches")[0][0]
    response = await console.client.post("/rujukan", data={
        "csrf_token": token, "platform": "tiktok", "case_id": str(tiktok_case)})
    assert response.status == 409
    download = await console.client.get(f"/rujukan/tiktok/{batch_id}.csv")
    rows = list(csv.DictReader(io.StringIO(await download.text())))
    assert [(r["url"], r["platform_post_id"], r["ticket_codes"]) for r in rows] == [
        ("https://tiktok.com/@a/video/101", "101", first)]
    document = json.loads(await (await console.client.get(f"/rujukan/tiktok/{batch_id}.json"))
                          .text())
    assert document["batch_id"] == batch_id and document["items"][0]["case_id"] == tiktok_case
    response = await console.client.post(f"/rujukan/{batch_id}/terkirim", data={
        "csrf_token": token, "reference": "TT-2026-001"}, allow_redirects=False)
    assert response.status == 303
    assert sql(console.store, "SELECT platform_reference FROM referral_batches") == [
        ("TT-2026-001",)]
    assert (await console.client.post(f"/rujukan/{batch_id}/terkirim", data={
        "csrf_token": token, "reference": "lagi"})).status == 409
    via_api = await console.client.get(f"/api/referrals/tiktok.csv?batch={batch_id}",
                                       headers=console.auth("kora"))
    assert first in await via_api.text()
    case_page = await console.client.get(f"/kasus/{tiktok_case}")
    assert "TT-2026-001" in await case_page.text()


async def test_dashboard_and_its_csv(console: Console) -> None:
    first = file_report(console.store, "https://www.tiktok.com/@a/video/1")
    file_report(console.store, "https://youtu.be/abcdefghijk", region="11.01", category="sara")
    console.store.update_status(first, "selesai", "petugas", outcome="konten_tidak_diturunkan")
    await console.login("kora")
    page = await console.client.get("/dasbor")
    html = await page.text()
    assert page.status == 200 and html.count("<svg") == 4
    assert "Jawa Tengah" in html and "Aceh" in html and "tiktok" in html
    assert ">2</span> laporan" in html or "2</span> laporan" in html
    assert "0%" in html  # one closed case, not taken down
    export = await console.client.get("/dasbor.csv?platform=tiktok")
    rows = list(csv.DictReader(io.StringIO(await export.text())))
    assert [r["ticket_code"] for r in rows] == [first] and rows[0]["outcome"] == \
        "konten_tidak_diturunkan"
    assert "description" not in rows[0] and PHONE.lstrip("+") not in await export.text()
    assert (await console.client.get("/dasbor.csv?dari=bukan-tanggal")).status == 400
    assert sql(console.store, "SELECT action FROM audit_log WHERE action = 'dashboard.export'"
               ) == [("dashboard.export",)]
    await console.login("pengawas.jateng")
    page = await console.client.get("/dasbor")
    assert page.status == 200 and "dasbor.csv" not in await page.text()
    assert (await console.client.get("/dasbor.csv")).status == 403  # exports: koordinator


async def test_admin_manages_accounts(console: Console, tmp_path: Path) -> None:
    token = await console.login("admin1")
    page = await console.client.get("/admin/pengguna")
    assert page.status == 200 and "pengawas.aceh" in await page.text()
    response = await console.client.post("/admin/pengguna", data={
        "csrf_token": token, "name": "sari", "role": "pengawas", "regions": "99",
        "password": "kata-sandi-sari-panjang"})
    assert response.status == 400 and "Kode wilayah tidak dikenal" in await response.text()
    response = await console.client.post("/admin/pengguna", data={
        "csrf_token": token, "name": "sari", "role": "pengawas", "regions": "33.75, 34",
        "password": "kata-sandi-sari-panjang"}, allow_redirects=False)
    assert response.status == 303
    response = await console.client.post("/admin/pengguna/sari/nonaktifkan", data={
        "csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert sql(console.store, "SELECT region_codes, disabled_at IS NOT NULL FROM console_users "
                              "WHERE name = 'sari'") == [("33.75 34", 1)]
    page = await console.client.get("/admin/pengguna")
    assert csrf_from(await page.text()) == token
