"""The JSON API's contract: paths, fields, status codes, role scoping, audit."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from tests.console.conftest import KNOWN, Console, case_of, file_report, sql

REPORT_FIELDS = {"ticket_code", "status", "category", "region_code", "case_id", "created_at"}


async def test_no_token_or_a_bad_token_is_401(console: Console) -> None:
    for headers in ({}, {"Authorization": "Bearer lpk_nope"}, {"Authorization": "Basic x"},
                    {"Authorization": "Bearer " + console.tokens["kora"] + "x"}):
        response = await console.client.get("/api/reports", headers=headers)
        assert response.status == 401
        assert (await response.json())["error"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = await console.client.post("/api/reports/LP-ZZZZZZ/status", json={})
    assert response.status == 401


async def test_list_reports_shape_filters_and_search(console: Console) -> None:
    store = console.store
    a = file_report(store, "https://www.tiktok.com/@akun/video/111", region="33.75")
    b = file_report(store, "https://x.com/akun/status/222", region="11.01", category="sara")
    body = await console.get_json("/api/reports")
    assert set(body) == {"reports"}
    by_code = {r["ticket_code"]: r for r in body["reports"]}
    assert set(by_code) == {a, b}
    assert all(set(r) == REPORT_FIELDS for r in body["reports"])
    assert by_code[a]["case_id"] == case_of(store, a)
    assert by_code[a]["status"] == "baru" and by_code[b]["category"] == "sara"
    assert by_code[a]["created_at"].startswith("2") and "T" in by_code[a]["created_at"]

    assert [r["ticket_code"] for r in (await console.get_json(
        "/api/reports?region=11"))["reports"]] == [b]
    assert [r["ticket_code"] for r in (await console.get_json(
        "/api/reports?q=video/111"))["reports"]] == [a]
    assert [r["ticket_code"] for r in (await console.get_json(
        f"/api/reports?q={b.lower()}"))["reports"]] == [b]
    assert (await console.get_json("/api/reports?status=selesai"))["reports"] == []
    # LIKE wildcards in q are literal.
    assert (await console.get_json("/api/reports?q=%25"))["reports"] == []
    for bad in ("status=dihapus", "region=3", "region=33.7a", "q=" + "x" * 201):
        body = await console.get_json(f"/api/reports?{bad}", status=400)
        assert body["error"] == "bad_request" and body["message"]


async def test_a_pengawas_sees_only_their_regions(console: Console) -> None:
    store = console.store
    jateng = file_report(store, "https://www.tiktok.com/@a/video/1", region="33.75")
    aceh = file_report(store, "https://www.tiktok.com/@a/video/2", region="11.01")
    nowhere = file_report(store, "https://www.tiktok.com/@a/video/3", region=None)
    listed = await console.get_json("/api/reports", user="pengawas.jateng")
    assert [r["ticket_code"] for r in listed["reports"]] == [jateng]
    await console.get_json(f"/api/reports/{jateng}", user="pengawas.jateng")
    for other in (aceh, nowhere):
        body = await console.get_json(f"/api/reports/{other}", user="pengawas.jateng",
                                      status=404)
        assert body["error"] == "not_found"
        await console.get_json(f"/api/cases/{case_of(store, other)}", user="pengawas.jateng",
                               status=404)
        await console.post_json(f"/api/reports/{other}/status", {"status": "diproses"},
                                user="pengawas.jateng", status=404)
    # A report that does not exist looks the same.
    await console.get_json("/api/reports/LP-ZZZZZZ", user="pengawas.jateng", status=404)
    # The koordinator sees everything; the admin reads no report at all.
    assert len((await console.get_json("/api/reports"))["reports"]) == 3
    body = await console.get_json("/api/reports", user="admin1", status=403)
    assert body["error"] == "forbidden"
    await console.get_json(f"/api/reports/{jateng}", user="admin1", status=403)


async def test_report_detail_has_case_links_history_and_notifications(console: Console) -> None:
    code = file_report(console.store)
    body = await console.get_json(f"/api/reports/{code.lower()}")
    assert body["ticket_code"] == code
    assert body["case_id"] == case_of(console.store, code)
    assert body["links"] == [{
        "url": "https://www.tiktok.com/@akun/video/123",
        "canonical_url": "https://tiktok.com/@akun/video/123", "platform": "tiktok",
        "case_id": body["case_id"], "online": True, "check_status": "ok", "http_status": 200,
        "page_title": "Judul video", "checked_at": body["links"][0]["checked_at"],
        "rechecked": False, "no_link": False,
        # The evidence archive was queued with the report (no worker runs here).
        "archive": {"id": None, "state": "pending", "sha256": None, "fetched_at": None,
                    "bytes": None, "final_url": None, "http_status": None, "page": {}}}]
    assert [h["new_status"] for h in body["history"]] == ["baru"]
    assert body["notifications"] == []
    assert body["reporter"].startswith("P-") and "psn_" not in str(body)
    assert body["deadline"] == (KNOWN + timedelta(days=7)).isoformat()


async def test_status_change_200_409_400_and_audit(console: Console) -> None:
    code = file_report(console.store)
    body = await console.post_json(f"/api/reports/{code}/status",
                                   {"status": "diproses", "note": "sedang dikaji"})
    assert body["status"] == "diproses" and body["ticket_code"] == code
    assert body["history"][-1]["note"] == "sedang dikaji"
    assert body["history"][-1]["changed_by"] == "kora"
    # Not allowed by the workflow: 409, nothing changes.
    conflict = await console.post_json(f"/api/reports/{code}/status", {"status": "baru"},
                                       status=409)
    assert conflict == {"error": "transition_not_allowed", "message": conflict["message"],
                        "from": "diproses", "to": "baru"}
    # Declining needs a note; forwarding needs a known destination.
    assert (await console.post_json(f"/api/reports/{code}/status", {"status": "ditolak"},
                                    status=400))["error"] == "note_required"
    assert (await console.post_json(f"/api/reports/{code}/status", {"status": "diteruskan"},
                                    status=400))["error"] == "destination_required"
    assert (await console.post_json(f"/api/reports/{code}/status",
                                    {"status": "diteruskan", "destination": "myspace"},
                                    status=400))["error"] == "unknown_destination"
    assert (await console.post_json(f"/api/reports/{code}/status",
                                    {"status": "diteruskan", "outcome": "lainnya",
                                     "destination": "tiktok"},
                                    status=400))["error"] == "outcome_not_allowed"
    body = await console.post_json(f"/api/reports/{code}/status",
                                   {"status": "diteruskan", "destination": "tiktok", "note": None})
    assert body["history"][-1]["destination"] == "tiktok"
    # Malformed bodies.
    for raw, content_type in (("{", "application/json"), ("[]", "application/json"),
                              ('{"status": 3}', "application/json"),
                              ('{"status": "selesai", "x": 1}', "application/json"),
                              ('{"status": "selesai", "note": 5}', "application/json"),
                              ("status=selesai", "application/x-www-form-urlencoded")):
        response = await console.client.post(f"/api/reports/{code}/status", data=raw,
                                             headers={**console.auth("kora"),
                                                      "Content-Type": content_type})
        assert response.status == 400, raw
        assert (await response.json())["error"] == "bad_request"
    assert sql(console.store, "SELECT status FROM reports") == [("diteruskan",)]
    actions = [row[0] for row in sql(console.store, "SELECT action FROM audit_log ORDER BY id")]
    assert actions.count("report.status") == 2 and "report.view" not in actions


async def test_case_contract_status_and_scoping(console: Console) -> None:
    store = console.store
    url = "https://www.tiktok.com/@akun/video/777"
    first = file_report(store, url, region="33.75")
    second = file_report(store, url + "?is_from_webapp=1", region="33.01", phone="+628999")
    case_id = case_of(store, first)
    assert case_of(store, second) == case_id
    body = await console.get_json(f"/api/cases/{case_id}")
    assert {"id", "canonical_url", "status", "reports", "links"} <= set(body)
    assert body["id"] == case_id and body["canonical_url"] == "https://tiktok.com/@akun/video/777"
    assert body["status"] == "baru" and body["reporters"] == 2
    assert {r["ticket_code"] for r in body["reports"]} == {first, second}
    assert all({"url", "online"} <= set(link) for link in body["links"])
    assert [link["online"] for link in body["links"]] == [True, True]

    body = await console.post_json(f"/api/cases/{case_id}/status", {"status": "diproses"},
                                   user="pengawas.jateng")
    assert body["status"] == "diproses"
    assert {r["status"] for r in body["reports"]} == {"diproses"}
    await console.post_json(f"/api/cases/{case_id}/status", {"status": "baru"}, status=409)
    await console.get_json("/api/cases/999999", status=404)
    # A case with a report outside a pengawas's regions: they may not decide for all.
    file_report(store, url, region="11.01", phone="+628777")
    answer = await console.post_json(f"/api/cases/{case_id}/status", {"status": "selesai"},
                                     user="pengawas.jateng", status=403)
    assert answer["error"] == "case_outside_regions"
    seen = await console.get_json(f"/api/cases/{case_id}", user="pengawas.jateng")
    assert len(seen["reports"]) == 2 and seen["hidden_reports"] == 1
    body = await console.post_json(f"/api/cases/{case_id}/status",
                                   {"status": "ditolak", "note": "bukan konten pemilu"})
    assert {r["status"] for r in body["reports"]} == {"ditolak"}


async def test_referral_csv(console: Console) -> None:
    store = console.store
    tiktok = file_report(store, "https://www.tiktok.com/@Akun/video/7301?si=share")
    file_report(store, "https://youtu.be/abcdefghijk", category="sara")
    await console.get_json("/api/referrals/tiktok.csv", user="pengawas.jateng", status=403)
    await console.get_json("/api/referrals/myspace.csv", status=404)
    await console.get_json("/api/referrals/tiktok.csv?batch=x", status=400)
    response = await console.client.get("/api/referrals/tiktok.csv", headers=console.auth("kora"))
    assert response.status == 200 and response.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 1
    row = rows[0]
    assert row["url"] == "https://tiktok.com/@akun/video/7301"
    assert row["platform_post_id"] == "7301"
    assert row["category"] == "Hoaks / berita bohong"
    assert "Pasal 280" in row["legal_basis"]
    assert row["ticket_codes"] == tiktok and "hoaks" in row["reason"]
    assert "+62" not in await response.text() and "psn_" not in await response.text()
    response = await console.client.get("/api/referrals/youtube.json",
                                        headers=console.auth("kora"))
    document = await response.json(content_type=None)
    assert document["platform"] == "youtube" and document["batch_id"] is None
    assert [item["platform_post_id"] for item in document["items"]] == ["abcdefghijk"]
    assert "Pasal 28 ayat (2)" in document["items"][0]["legal_basis"]  # SARA
    audit = sql(store, "SELECT actor, action, target FROM audit_log WHERE action LIKE 'referral%'")
    assert audit == [("kora", "referral.export", "platform:tiktok"),
                     ("kora", "referral.export", "platform:youtube")]
