"""`make run-cluster` for real: 2 replicas behind HAProxy on Redis and PostgreSQL.

One cluster (scripts/run_cluster.py) serves this module; reports and trackers
go to the session's throwaway PostgreSQL server. The fault tests run 20
conversations at once and break a part of the cluster in the middle.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg2
import pytest

from scripts.local_services import free_port, wait_for_port
from tests.channels.whatsapp_support import APP_SECRET, VERIFY_TOKEN, dumps, sign, webhook
from tests.channels.whatsapp_support import message as whatsapp_message
from tests.channels.whatsapp_support import text_message as whatsapp_text
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.telegram_api import FakeTelegramApi, Updates
from tests.integration.conftest import PostgresServer
from tests.integration.servers import fake_web, texts
from tests.integration.whatsapp_citizen import settled

TICKET = re.compile(r"LP-[0-9A-HJKMNP-TV-Z]{6}")
START_SECONDS = 420
TELEGRAM_TOKEN = "987654321:AAE2eClusterTokenForTheFakeBotApi"
TELEGRAM_SECRET = "cluster-Secret_token"
REPORT_TEXT = ("ada hoaks soal paslon 2 di tiktok http://vt.tiktok.com/ZS8xyz/ "
               "di kota pekalongan kemarin ({who})")


@dataclass
class Cluster:
    """The running cluster and what the tests need to reach into it."""

    url: str
    work: Path
    reports_url: str
    process: subprocess.Popen
    graph: FakeGraphApi
    telegram: FakeTelegramApi
    console_url: str
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    def post(self, path: str, body: bytes, headers: dict[str, str],
             attempts: int = 6) -> str:
        """A webhook POST through HAProxy (retried on 502/503 as the platforms do);
        returns the replica that took it."""
        response = None
        for attempt in range(attempts):
            try:
                response = httpx.post(f"{self.url}{path}", content=body, timeout=90,
                                      headers={"Content-Type": "application/json", **headers})
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return response.headers.get("X-Replica", "?")
            time.sleep(1.0 + attempt)
        raise AssertionError(f"webhook {path} not accepted ({response!r})\n" + self.log_tail())

    def say(self, sender: str, message: str, attempts: int = 6) -> tuple[list[dict], str]:
        """One REST message through HAProxy: (replies, the replica that answered).

        A client retries a request the balancer could not deliver (502/503), as
        WhatsApp and Telegram retry unacknowledged webhooks.
        """
        for attempt in range(attempts):
            try:
                response = httpx.post(f"{self.url}/webhooks/rest/webhook",
                                      json={"sender": sender, "message": message}, timeout=90)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                return response.json(), response.headers.get("X-Replica", "?")
            time.sleep(1.0 + attempt)
        raise AssertionError(f"no answer to {message!r} for {sender} ({response!r})\n"
                             + self.log_tail())

    def pid_of(self, service: str) -> int:
        """The pid of a supervised service (rasa-1, actions-2, redis, haproxy)."""
        port = self.port_of(service)
        # redis-server shows itself as "redis-server 127.0.0.1:PORT".
        pattern = f"redis-server .*:{port}$" if service == "redis" else f"--port {port}( |$)"
        found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True,
                               text=True, check=False).stdout.split()
        assert found, f"no process for {service} on port {port}"
        return int(found[0])

    def port_of(self, service: str) -> int:
        for line in self.output:
            match = re.match(rf"\s+{re.escape(service)}\s+127\.0\.0\.1:(\d+)", line)
            if match:
                return int(match.group(1))
        if service == "redis":
            match = re.search(r"redis://127\.0\.0\.1:(\d+)", "\n".join(self.output))
            assert match
            return int(match.group(1))
        raise AssertionError(f"{service} not in the cluster's output")

    def log_tail(self) -> str:
        parts = []
        for log in sorted((self.work / "logs").glob("*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)


def _databases(server: PostgresServer) -> tuple[str, str]:
    return (server.url(server.create_database("cluster_reports")),
            server.url(server.create_database("cluster_trackers")))


@pytest.fixture(scope="module")
def cluster(trained_model: Path, postgres_server: PostgresServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("cluster")
    reports_url, trackers_url = _databases(postgres_server)
    port, console_port = free_port(), free_port()
    telegram = FakeTelegramApi(TELEGRAM_TOKEN)
    with fake_web() as link_check_env, FakeGraphApi() as graph, telegram.run_in_thread():
        env = {**os.environ, **link_check_env, "DATABASE_URL": reports_url,
               "TRACKER_DATABASE_URL": trackers_url, "VAR_DIR": str(work / "var"),
               "DAILY_REPORT_CAP": "100", "RATE_LIMIT_BURST": "100",
               # Every replica serves WhatsApp and Telegram too (the fake platforms).
               "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET,
               "WHATSAPP_ACCESS_TOKEN": graph.access_token,
               "WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
               "WHATSAPP_API_BASE_URL": graph.base_url,
               "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN, "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
               "TELEGRAM_API_BASE_URL": telegram.base_url}
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "scripts/run_cluster.py", "--replicas",
             "2", "--port", str(port), "--console-port", str(console_port), "--work", str(work)],
            cwd=Path(__file__).resolve().parents[2], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        running = Cluster(url=f"http://127.0.0.1:{port}", work=work, reports_url=reports_url,
                          process=process, graph=graph, telegram=telegram,
                          console_url=f"http://127.0.0.1:{console_port}", env=env)
        ready = threading.Event()

        def read_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                running.output.append(line.rstrip("\n"))
                if "Press Ctrl-C" in line:
                    ready.set()
            ready.set()  # the cluster exited: stop waiting

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        try:
            if (not ready.wait(START_SECONDS) or process.poll() is not None
                    or not wait_for_port(port, 10)):
                pytest.fail("the cluster did not start:\n" + "\n".join(running.output[-40:])
                            + "\n" + running.log_tail(), pytrace=False)
            # Both replicas pass HAProxy's health check before the tests start.
            seen: set[str] = set()
            deadline = time.monotonic() + 60
            while len(seen) < 2 and time.monotonic() < deadline:
                answer = httpx.get(f"{running.url}/webhooks/rest/", timeout=10)
                seen.add(answer.headers.get("X-Replica", "?"))
            assert {"r1", "r2"} <= seen, seen
            yield running
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def file_report(cluster: Cluster, sender: str) -> tuple[str, list[str]]:
    """A whole report over REST; returns (ticket, the replica of every message)."""
    replicas = []
    for message in (REPORT_TEXT.format(who=sender), "/affirm", "lewati"):
        _, replica = cluster.say(sender, message)
        replicas.append(replica)
    replies, replica = cluster.say(sender, "/affirm")
    replicas.append(replica)
    match = TICKET.search(texts(replies))
    assert match, f"no ticket for {sender}: {texts(replies)!r}"
    return match.group(0), replicas


def file_report_as_a_person_would(cluster: Cluster, sender: str) -> str:
    """A report during a fault: when the fault cut one of the turns short (an action
    server killed half-way through its answer gives Rasa a 502 for that action, and the
    bot answers with its menu), the person cancels and starts again, once, answering
    what the bot asks this time."""
    try:
        return file_report(cluster, sender)[0]
    except AssertionError as first:
        cluster.say(sender, "batal")
        replies, _ = cluster.say(sender, REPORT_TEXT.format(who=sender))
        for _turn in range(6):
            said = texts(replies)
            match = TICKET.search(said)
            if match:
                return match.group(0)
            if "UU PDP" in said or "Kirim laporan ini" in said:
                answer = "/affirm"  # consent, then "send"
            elif "pemilik akun" in said:
                answer = "lewati"
            else:
                break
            replies, _ = cluster.say(sender, answer)
        raise AssertionError(f"{first}\nand again: {texts(replies)!r}") from None


def stored_tickets(cluster: Cluster) -> list[str]:
    with psycopg2.connect(cluster.reports_url) as db:
        with db.cursor() as cursor:
            cursor.execute("SELECT ticket_code FROM reports")
            return [row[0] for row in cursor.fetchall()]


@pytest.mark.slow
def test_a_report_over_rest_alternates_replicas(cluster: Cluster) -> None:
    ticket, replicas = file_report(cluster, "cluster-rest")
    alternate(replicas)
    assert ticket in stored_tickets(cluster)
    status, _ = cluster.say("cluster-rest", f"cek status {ticket}")
    assert ticket in texts(status) and "tidak ditemukan" not in texts(status)


def alternate(replicas: list[str]) -> None:
    """Round robin: with nothing else running, consecutive messages alternate."""
    assert set(replicas) == {"r1", "r2"}, replicas
    assert all(a != b for a, b in zip(replicas, replicas[1:], strict=False)), replicas


@pytest.mark.slow
def test_a_report_over_whatsapp_alternates_replicas(cluster: Cluster) -> None:
    wa_id = "6281298765432"
    graph = cluster.graph

    def mine() -> list[dict]:
        return [m for m in graph.sent_messages() if m.get("to") == wa_id]

    def send(item: dict) -> str:
        before = len(mine())
        body = dumps(webhook(item, wa_id=wa_id))
        replica = cluster.post("/webhooks/whatsapp/webhook", body,
                               {"X-Hub-Signature-256": sign(body)})
        try:
            settled(lambda: len(mine()), before)
        except AssertionError:
            raise AssertionError(f"no WhatsApp answer\n{mine()}\n{cluster.log_tail()}") from None
        return replica

    def press(payload: str) -> dict:
        return whatsapp_message("interactive", {"type": "button_reply", "button_reply": {
            "id": payload, "title": payload}}, wa_id=wa_id)

    replicas = [send(whatsapp_text(REPORT_TEXT.format(who="wa"), wa_id=wa_id)),
                send(press("/affirm")), send(whatsapp_text("lewati", wa_id=wa_id)),
                send(press("/affirm"))]
    alternate(replicas)
    sent = dumps(mine()).decode()
    tickets = set(TICKET.findall(sent))
    assert len(tickets) == 1, sent[-1500:]
    [ticket] = tickets
    assert ticket in stored_tickets(cluster)
    # The status check lands on the next replica and finds the report.
    before = len(mine())
    send(whatsapp_text(f"cek status {ticket}", wa_id=wa_id))
    answer = dumps(mine()[before:]).decode()
    assert ticket in answer and "tidak ditemukan" not in answer, answer

    # A reviewer's decision in the cluster's console reaches the reporter; through Redis
    # the notification worker knows the reporter wrote within 24 hours: free text.
    def admin(*args: str, password: str | None = None) -> str:
        done = subprocess.run([str(Path(sys.executable).parent / "lapor-admin"), *args],
                              input=password, text=True, capture_output=True,
                              env=cluster.env, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    admin("user", "add", "kora.cluster", "--role", "koordinator", "--password-stdin",
          password="kata-sandi-klaster-2029")
    token = admin("token", "create", "kora.cluster")
    before = len(mine())
    decided = httpx.post(f"{cluster.console_url}/api/reports/{ticket}/status", timeout=30,
                         headers={"Authorization": f"Bearer {token}"},
                         json={"status": "diproses", "note": "Sedang kami telaah."})
    assert decided.status_code == 200, decided.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
            m["type"] == "text" and ticket in m["text"]["body"] for m in mine()[before:]):
        time.sleep(0.25)
    notices = [m for m in mine()[before:] if ticket in dumps(m).decode()]
    assert notices and notices[0]["type"] == "text", (mine()[before:], cluster.log_tail())


@pytest.mark.slow
def test_a_report_over_telegram_alternates_replicas(cluster: Cluster) -> None:
    telegram = cluster.telegram
    user_id = 712345678
    updates = Updates(user_id=user_id, first_update_id=500_000)

    def mine() -> list[dict]:
        return [c for c in telegram.calls_to("sendMessage") if int(c["chat_id"]) == user_id]

    def send(update: dict) -> str:
        before = len(mine())
        replica = cluster.post("/webhooks/telegram/webhook", dumps(update),
                               {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        try:
            settled(lambda: len(mine()), before)
        except AssertionError:
            raise AssertionError(f"no Telegram answer\n{mine()}\n{cluster.log_tail()}") from None
        return replica

    def press(payload: str) -> dict:
        """Press the button with `payload` on the latest keyboard the bot sent."""
        markups = [c["reply_markup"] for c in mine() if c.get("reply_markup")]
        assert markups, mine()
        markup = markups[-1]
        if isinstance(markup, str):
            markup = json.loads(markup)
        offered = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
        assert payload in offered, offered
        return updates.callback(payload, message_markup=markup)

    replicas = [send(updates.text(REPORT_TEXT.format(who="tg")))]
    replicas.append(send(press("/affirm")))
    replicas.append(send(updates.text("lewati")))
    replicas.append(send(press("/affirm")))
    alternate(replicas)
    sent = json.dumps([c.get("text", "") for c in mine()], ensure_ascii=False)
    tickets = set(TICKET.findall(sent))
    assert len(tickets) == 1, sent[-1500:]
    [ticket] = tickets
    assert ticket in stored_tickets(cluster)
    before = len(mine())
    send(updates.text(f"cek status {ticket}"))
    answer = json.dumps(mine()[before:], ensure_ascii=False)
    assert ticket in answer and "tidak ditemukan" not in answer, answer


def run_conversations(cluster: Cluster, prefix: str, count: int,
                      fault: threading.Event | None = None) -> dict[str, str]:
    """`count` report conversations at once; `fault` is set when they are half-way."""
    tickets: dict[str, str] = {}
    errors: list[str] = []
    started = threading.Barrier(count + (1 if fault is not None else 0))

    def one(n: int) -> None:
        sender = f"{prefix}-{n}"
        try:
            started.wait(60)
            tickets[sender] = file_report_as_a_person_would(cluster, sender)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(f"{sender}: {exc}")

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    if fault is not None:
        started.wait(60)
        time.sleep(2.0)
        fault.set()
    for thread in threads:
        thread.join(600)
    assert not errors, "\n".join(errors[:5]) + "\n" + cluster.log_tail()
    return tickets


def assert_no_report_lost_or_doubled(cluster: Cluster, tickets: dict[str, str]) -> None:
    stored = stored_tickets(cluster)
    for sender, ticket in tickets.items():
        assert stored.count(ticket) == 1, (sender, ticket)
    assert len(set(tickets.values())) == len(tickets)


def wait_until_back(cluster: Cluster, service: str, old_pid: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if cluster.pid_of(service) != old_pid and wait_for_port(cluster.port_of(service), 1):
                return
        except AssertionError:
            pass
        time.sleep(1)
    raise AssertionError(f"{service} did not come back\n" + cluster.log_tail())


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["rasa-1", "actions-2"])
def test_kill_9_of_a_replica_loses_nothing(cluster: Cluster, victim: str) -> None:
    fault = threading.Event()
    killed: list[int] = []

    def kill_when_told() -> None:
        fault.wait(600)
        pid = cluster.pid_of(victim)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_when_told)
    killer.start()
    tickets = run_conversations(cluster, f"fault-{victim}", 20, fault)
    killer.join(60)
    assert killed, "the fault was never injected"
    assert_no_report_lost_or_doubled(cluster, tickets)
    wait_until_back(cluster, victim, killed[0])
    # Every conversation can go on after the fault.
    for sender in list(tickets)[:3]:
        replies, _ = cluster.say(sender, f"cek status {tickets[sender]}")
        assert tickets[sender] in texts(replies)


@pytest.mark.slow
def test_a_redis_restart_loses_nothing(cluster: Cluster) -> None:
    fault = threading.Event()
    killed: list[int] = []

    def restart_redis() -> None:
        fault.wait(600)
        pid = cluster.pid_of("redis")
        os.kill(pid, signal.SIGKILL)  # the supervisor starts it again
        killed.append(pid)

    thread = threading.Thread(target=restart_redis)
    thread.start()
    tickets = run_conversations(cluster, "fault-redis", 20, fault)
    thread.join(60)
    assert killed
    assert_no_report_lost_or_doubled(cluster, tickets)


@pytest.mark.slow
def test_a_postgresql_restart_loses_nothing(cluster: Cluster,
                                            postgres_server: PostgresServer) -> None:
    fault = threading.Event()
    restarted: list[bool] = []

    def restart_postgres() -> None:
        fault.wait(600)
        assert postgres_server.local is not None
        postgres_server.local.restart()
        restarted.append(True)

    thread = threading.Thread(target=restart_postgres)
    thread.start()
    tickets = run_conversations(cluster, "fault-postgres", 20, fault)
    thread.join(180)
    assert restarted == [True]
    assert_no_report_lost_or_doubled(cluster, tickets)
