"""The taskforce page (koordinators): issuing and revoking volunteer codes, the queue's
taskforce view and the per-volunteer figures, on the real console and store."""

from __future__ import annotations

import re

from bot.privacy import sender_key
from bot.store.volunteers import JoinResult
from console.queries import reporter_label
from tests.console.conftest import PHONE, Console, case_of, file_report, sql

CODE = re.compile(r"RLW-[0-9A-HJKMNP-TV-Z]{6}")
VOLUNTEER_PHONE = "+6281300000001"
OTHER_PHONE = "+6281300000002"


async def issue(console: Console, csrf: str, region: str = "33.74",
                name: str = "Relawan Kampus Semarang", count: int = 1) -> list[str]:
    page = await console.client.post("/gugus-tugas/kode", data={
        "csrf_token": csrf, "region": region, "taskforce": name, "count": str(count)})
    html = await page.text()
    assert page.status == 200, html
    return CODE.findall(html.split("Kode baru", 1)[1].split("Buat kode", 1)[0])


def code_id(console: Console, code: str) -> int:
    return int(sql(console.store, "SELECT id FROM volunteer_codes WHERE code = :c", c=code)[0][0])


async def test_a_koordinator_issues_and_revokes_codes_and_both_are_audited(
        console: Console) -> None:
    csrf = await console.login("kora")
    codes = await issue(console, csrf, count=3)
    assert len(set(codes)) == 3
    page = await console.client.get("/gugus-tugas")
    html = await page.text()
    assert page.status == 200 and all(code in html for code in codes)
    assert "Relawan Kampus Semarang" in html and "Kota Semarang" in html
    revoked = code_id(console, codes[0])
    response = await console.client.post(f"/gugus-tugas/kode/{revoked}/cabut",
                                         data={"csrf_token": csrf}, allow_redirects=False)
    assert response.status == 303
    html = await (await console.client.get("/gugus-tugas?pesan=code_revoked")).text()
    assert "Dicabut" in html and "sudah dicabut" in html
    assert console.store.join_taskforce(sender_key("whatsapp", PHONE), codes[0]).result \
        is JoinResult.INVALID
    assert console.store.join_taskforce(sender_key("whatsapp", PHONE), codes[1]).result \
        is JoinResult.JOINED
    entries = sql(console.store, "SELECT actor, action, target, detail FROM audit_log "
                  "WHERE action LIKE 'volunteer.%' ORDER BY id")
    assert [(e[0], e[1], e[2]) for e in entries] == [
        ("kora", "volunteer.issue", "region:33.74"),
        ("kora", "volunteer.revoke", f"volunteer_code:{revoked}")]
    # The audit log is read by admins: it names code ids, never the codes themselves.
    assert not any(code in e[3] for e in entries for code in codes)


async def test_bad_input_and_roles_are_refused_politely(console: Console) -> None:
    csrf = await console.login("kora")
    for region, name, count in (("99.99", "Gugus", "1"), ("33", " ", "1"),
                                ("33", "Gugus", "0"), ("33", "Gugus", "101"),
                                ("33", "x" * 201, "1")):
        page = await console.client.post("/gugus-tugas/kode", data={
            "csrf_token": csrf, "region": region, "taskforce": name, "count": count})
        assert page.status == 400, (region, name, count)
    assert sql(console.store, "SELECT COUNT(*) FROM volunteer_codes") == [(0,)]
    page = await console.client.post("/gugus-tugas/kode/999/cabut", data={"csrf_token": csrf})
    assert page.status == 404
    # Without the CSRF token nothing is issued.
    page = await console.client.post("/gugus-tugas/kode", data={
        "region": "33", "taskforce": "Gugus", "count": "1"})
    assert page.status == 403
    for user in ("pengawas.jateng", "admin1"):
        other = await console.login(user)
        assert (await console.client.get("/gugus-tugas")).status == 403
        page = await console.client.post("/gugus-tugas/kode", data={
            "csrf_token": other, "region": "33", "taskforce": "Gugus", "count": "1"})
        assert page.status == 403
    assert sql(console.store, "SELECT COUNT(*) FROM volunteer_codes") == [(0,)]


async def test_a_volunteer_s_report_shows_in_the_taskforce_view_with_their_code(
        console: Console) -> None:
    csrf = await console.login("kora")
    (code,) = await issue(console, csrf)
    volunteer = sender_key("whatsapp", VOLUNTEER_PHONE)
    assert console.store.join_taskforce(volunteer, code).result is JoinResult.JOINED
    marked = file_report(console.store, "https://www.tiktok.com/@akun/video/1",
                         phone=VOLUNTEER_PHONE)
    plain = file_report(console.store, "https://www.tiktok.com/@akun/video/2")
    html = await (await console.client.get("/antrian?relawan=1")).text()
    assert marked in html and code in html and plain not in html
    assert volunteer not in html and VOLUNTEER_PHONE not in html
    html = await (await console.client.get("/antrian")).text()
    assert marked in html and plain in html
    case_html = await (await console.client.get(f"/kasus/{case_of(console.store, marked)}"))\
        .text()
    assert code in case_html
    body = await console.get_json(f"/api/reports/{marked}")
    assert body["volunteer_code"] == code
    assert (await console.get_json(f"/api/reports/{plain}"))["volunteer_code"] is None
    page = await console.client.get("/antrian?relawan=ya")
    assert page.status == 400


async def test_per_volunteer_counts_and_takedowns(console: Console) -> None:
    csrf = await console.login("kora")
    (code,) = await issue(console, csrf)
    first = sender_key("whatsapp", VOLUNTEER_PHONE)
    second = sender_key("telegram", OTHER_PHONE)
    console.store.join_taskforce(first, code)
    console.store.join_taskforce(second, code)
    tickets = [file_report(console.store, f"https://www.tiktok.com/@akun/video/{i}",
                           phone=VOLUNTEER_PHONE) for i in range(3)]
    file_report(console.store, "https://x.com/a/status/9", phone=OTHER_PHONE, channel="telegram")
    file_report(console.store, "https://x.com/a/status/10")  # not a volunteer
    console.store.update_status(tickets[0], "selesai", "kora", outcome="konten_diturunkan")
    console.store.update_status(tickets[1], "selesai", "kora",
                                outcome="konten_tidak_diturunkan")
    html = await (await console.client.get("/gugus-tugas")).text()
    row = html.split(code, 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[2] == "2"  # active volunteers
    assert ">4<" in cells[3] and cells[4] == "1"  # reports, takedowns
    assert f"{reporter_label(first)}: 3 laporan, 1 diturunkan" in row
    assert f"{reporter_label(second)}: 1 laporan, 0 diturunkan" in row
    assert first not in html and second not in html and "psn_" not in html
    # A volunteer who leaves stops counting as active; their figures stay.
    console.store.leave_taskforce(second)
    row = (await (await console.client.get("/gugus-tugas")).text()).split(code, 1)[1]
    assert re.findall(r"<td>(.*?)</td>", row.split("</tr>", 1)[0], re.S)[2] == "1"
    assert f"{reporter_label(second)}: 1 laporan" in row
