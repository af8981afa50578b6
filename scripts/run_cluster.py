"""`make run-cluster`: the assistant as REPLICAS Rasa + action servers behind HAProxy.

Starts on this machine, all on 127.0.0.1:
- redis-server (conversation locks, shared ephemeral state, dedup),
- PostgreSQL: a throwaway local cluster, unless DATABASE_URL is set (reports and,
  in a second database, the conversation trackers),
- REPLICAS action servers and REPLICAS Rasa servers (every Rasa reaches every
  action server through HAProxy, and shares the tracker store, the lock store
  and Redis),
- HAProxy on RASA_PORT: round-robin for the webhooks and REST (so consecutive
  messages of one conversation land on different replicas), sticky for the web
  widget (socket.io keeps a connection on one replica; see docs/cluster.md),
- the reviewers' console on CONSOLE_PORT (default 5080) with the reporters'
  notification worker (it sees the WhatsApp 24-hour window through Redis).

A supervisor restarts any replica or server that dies (after a short back-off)
and stops everything on Ctrl-C / SIGTERM. `python scripts/run_cluster.py --help`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from bot.wait_ready import wait_ready  # noqa: E402
from scripts.local_services import (  # noqa: E402
    LocalPostgres,
    ServiceError,
    free_port,
    haproxy_binary,
    redis_binary,
    tail,
    wait_for_port,
)

BIN = PROJECT_ROOT / ".venv" / "bin"
TRACKER_DATABASE = "lapor_trackers"
#: Thread pools of OpenMP (the e5 embedding) and TensorFlow (DIET, TED).
COMPUTE_THREAD_VARIABLES = ("OMP_NUM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS",
                            "TF_INTER_OP_PARALLELISM_THREADS")
REPORTS_DATABASE = "lapor_reports"


@dataclass
class Service:
    """One supervised process."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    process: subprocess.Popen | None = None
    restarts: int = 0
    next_start: float = 0.0
    history: list[float] = field(default_factory=list)

    def start(self) -> None:
        """Start (or restart) the process, its output appended to its log."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as handle:
            self.process = subprocess.Popen(  # noqa: S603 - our own command lines
                self.command, cwd=PROJECT_ROOT, env=self.env, stdout=handle,
                stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        """Ask the process (and its group) to stop."""
        if self.alive():
            assert self.process is not None
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        """Wait for the process to exit; SIGKILL its group after `timeout` seconds."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds."""
        self.terminate()
        self.wait_or_kill(grace)


def endpoints_yaml(action_port: int, tracker_url: str, redis_url: str) -> str:
    """One replica's endpoints.yml."""
    return (
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        "tracker_store:\n  type: bot.tracker_stores.ProtectedSQLTrackerStore\n"
        f'  url: "{tracker_url}"\n'
        "lock_store:\n  type: bot.lock_store.AtomicRedisLockStore\n"
        f'  url: "{redis_url}"\n'
    )


def haproxy_cfg(bind: str, port: int, replicas: list[tuple[str, int]], stats_port: int,
                actions_port: int, actions: list[tuple[str, int]]) -> str:
    """HAProxy: round-robin for webhooks and REST, sticky (cookie, else source) for the
    widget; and, on loopback, the action servers for every Rasa replica."""
    servers_actions = "\n".join(f"  server {name} 127.0.0.1:{aport} check"
                                 for name, aport in actions)
    servers_rr = "\n".join(f"  server {name} 127.0.0.1:{rport} check"
                           for name, rport in replicas)
    servers_sticky = "\n".join(
        f"  server {name} 127.0.0.1:{rport} check cookie {name}"
        for name, rport in replicas)
    return f"""global
  maxconn 1000
  # Room to buffer an action request (it carries the tracker) so it can be retried.
  tune.bufsize 262144

defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout tunnel 1h
  timeout check 10s
  retries 3
  option redispatch
  # A replica under load answers its health check slowly: only a dead one
  # (connection refused, 3 checks in a row) is taken out of the rotation.
  default-server inter 2s fall 3 rise 2

frontend assistant
  bind {bind}:{port}
  acl webchat path_beg /webhooks/webchat/
  use_backend rasa_webchat if webchat
  default_backend rasa

backend rasa
  balance roundrobin
  option httpchk GET /
  http-response set-header X-Replica %s
{servers_rr}

backend rasa_webchat
  balance source
  hash-type consistent
  cookie LAPOR_REPLICA insert indirect nocache httponly
  option httpchk GET /
  http-response set-header X-Replica %s
{servers_sticky}

# Rasa -> action servers: any replica's actions on any action server. A request
# that meets a dead server (refused, cut before any answer, or cut half-way through
# its answer) is sent to another one; running an action again is safe (filing a
# report is idempotent, validation reads only the tracker).
frontend actions
  bind 127.0.0.1:{actions_port}
  default_backend actions

backend actions
  balance roundrobin
  option httpchk GET /health
  retry-on conn-failure empty-response junk-response response-timeout
  http-request disable-l7-retry if {{ req.body_size gt 250000 }}
{servers_actions}

frontend stats
  bind 127.0.0.1:{stats_port}
  stats enable
  stats uri /
"""


class Cluster:
    """Everything `make run-cluster` runs, supervised."""

    def __init__(self, replicas: int, rasa_port: int, rasa_host: str, work: Path,
                 model: Path) -> None:
        self.replicas = replicas
        self.rasa_port = rasa_port
        self.rasa_host = rasa_host
        self.work = work
        self.model = model
        self.services: list[Service] = []
        self.postgres: LocalPostgres | None = None
        self.urls: dict[str, str] = {}
        self._stopping = False

    def _base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"RASA_TELEMETRY_ENABLED": "false", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                    "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONHASHSEED": "0"})
        # One compute thread per replica. A Rasa process serves its messages on one
        # event loop, so intra-op threads (OpenMP in the e5 embedding, TensorFlow's
        # pools) add no throughput; with several replicas on the same cores they
        # oversubscribe them and spin-wait at every barrier: measured with 2 replicas
        # on 2 cores, 4.9 msg/s with the default pools against 38.8 msg/s with one
        # thread each (`make bench-load`, docs/cluster.md).
        for name in COMPUTE_THREAD_VARIABLES:
            env.setdefault(name, "1")
        return env

    def _databases(self) -> tuple[str, str]:
        configured = os.environ.get("DATABASE_URL", "").strip()
        if configured:
            return configured, os.environ.get("TRACKER_DATABASE_URL", configured)
        # A throwaway cluster in a temporary folder the `postgres` user can reach.
        self.postgres = LocalPostgres().start()
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.postgres.port,
                                      user="postgres", dbname="postgres", connect_timeout=10)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for name in (REPORTS_DATABASE, TRACKER_DATABASE):
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.postgres.url(REPORTS_DATABASE), self.postgres.url(TRACKER_DATABASE)

    def build(self) -> None:
        """Start Redis and PostgreSQL, then describe every supervised service."""
        self.work.mkdir(parents=True, exist_ok=True, mode=0o700)
        logs = self.work / "logs"
        env = self._base_env()
        redis_port = int(os.environ.get("REDIS_PORT") or free_port())
        redis_dir = self.work / "redis"
        redis_dir.mkdir(exist_ok=True)
        redis = Service("redis", [redis_binary(), "--port", str(redis_port), "--bind",
                                  "127.0.0.1", "--dir", str(redis_dir), "--save", "",
                                  "--appendonly", "no"], env, logs / "redis.log", redis_port)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        reports_url, trackers_url = self._databases()
        env.update({"REDIS_URL": redis_url, "DATABASE_URL": reports_url,
                    "VAR_DIR": str(PROJECT_ROOT / "var")})
        self.urls.update(redis=redis_url, reports=reports_url, trackers=trackers_url)
        self.services.append(redis)
        replicas: list[tuple[str, int]] = []
        actions: list[tuple[str, int]] = []
        actions_port = free_port()
        for index in range(1, self.replicas + 1):
            action_port, rasa_port = free_port(), free_port()
            endpoints = self.work / f"endpoints-{index}.yml"
            endpoints.write_text(endpoints_yaml(actions_port, trackers_url, redis_url))
            actions.append((f"a{index}", action_port))
            action_env = {**env, "SANIC_HOST": "127.0.0.1"}
            self.services.append(Service(
                f"actions-{index}", [str(BIN / "rasa"), "run", "actions", "--actions",
                                     "actions", "--port", str(action_port)],
                action_env, logs / f"actions-{index}.log", action_port))
            self.services.append(Service(
                f"rasa-{index}", [str(BIN / "rasa"), "run", "--model", str(self.model),
                                  "--interface", "127.0.0.1", "--port", str(rasa_port),
                                  "--endpoints", str(endpoints), "--credentials",
                                  str(PROJECT_ROOT / "credentials.yml")],
                {**env, "RASA_REPLICA": f"r{index}"}, logs / f"rasa-{index}.log", rasa_port))
            replicas.append((f"r{index}", rasa_port))
        console_port = int(os.environ.get("CONSOLE_PORT") or 5080)
        self.services.append(Service(
            "console", [str(BIN / "python"), "-m", "console"],
            {**env, "CONSOLE_PORT": str(console_port)}, logs / "console.log", console_port))
        self.urls["console"] = f"http://127.0.0.1:{console_port}/"
        stats_port = free_port()
        config = self.work / "haproxy.cfg"
        config.write_text(haproxy_cfg(self.rasa_host, self.rasa_port, replicas, stats_port,
                                      actions_port, actions))
        self.services.append(Service("haproxy", [haproxy_binary(), "-db", "-f", str(config)],
                                     env, logs / "haproxy.log", self.rasa_port))
        self.urls.update(balancer=f"http://{self.rasa_host}:{self.rasa_port}",
                         stats=f"http://127.0.0.1:{stats_port}/")

    def start(self, timeout: float) -> None:
        """Start every service and wait until each answers on its port."""
        for service in self.services:
            service.start()
            if service.name == "redis" and not wait_for_port(service.port or 0, 30):
                raise ServiceError(f"redis-server did not start:\n{tail(service.log)}")
        for service in self.services:
            if service.port and not wait_for_port(service.port, timeout):
                raise ServiceError(f"{service.name} did not start:\n{tail(service.log)}")
        # A port is open before Rasa has loaded its model: wait until each answers.
        for service in self.services:
            path = {"rasa": "/", "actions": "/health", "console": "/healthz"}.get(
                service.name.split("-")[0])
            if path and not wait_ready([f"http://127.0.0.1:{service.port}{path}"],
                                       timeout=timeout):
                raise ServiceError(f"{service.name} did not answer:\n{tail(service.log)}")
        self._wait_balanced(timeout=60)

    def _wait_balanced(self, timeout: float) -> None:
        """Wait until HAProxy has every replica in rotation (its health checks passed)."""
        import urllib.request

        host = "127.0.0.1" if self.rasa_host in ("0.0.0.0", "::") else self.rasa_host  # noqa: S104
        wanted = {f"r{index}" for index in range(1, self.replicas + 1)}
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while seen != wanted and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(  # noqa: S310 - our own balancer
                        f"http://{host}:{self.rasa_port}/", timeout=5) as answer:
                    seen.add(answer.headers.get("X-Replica", ""))
            except OSError:
                time.sleep(0.5)
        if not wanted <= seen:
            raise ServiceError(f"HAProxy did not put every replica in rotation: {sorted(seen)}")

    def supervise(self) -> None:
        """Restart what dies (1 s, then up to 30 s back-off when it keeps dying)."""
        while not self._stopping:
            now = time.monotonic()
            for service in self.services:
                if service.alive() or self._stopping:
                    continue
                if service.next_start == 0.0:
                    service.history = [t for t in service.history if now - t < 60] + [now]
                    delay = min(30.0, 1.0 * 2 ** (len(service.history) - 1))
                    service.next_start = now + delay
                    print(f"cluster: {service.name} exited "
                          f"({service.process.returncode if service.process else '?'}); "
                          f"restarting in {delay:.0f} s", flush=True)
                elif now >= service.next_start:
                    service.next_start = 0.0
                    service.restarts += 1
                    service.start()
            time.sleep(0.5)

    def stop(self, grace: float = 20.0) -> None:
        """Stop HAProxy first, then every replica and Redis at once (SIGTERM, SIGKILL after
        `grace` seconds), then PostgreSQL."""
        self._stopping = True
        for group in (self.services[-1:], self.services[:-1]):  # haproxy is last in the list
            running = [service for service in group if service.alive()]
            for service in running:
                service.terminate()
            deadline = time.monotonic() + grace
            for service in running:
                service.wait_or_kill(max(0.1, deadline - time.monotonic()))
        if self.postgres is not None:
            self.postgres.remove()

    def describe(self) -> str:
        lines = ["", "  The assistant is running as a cluster.",
                 f"  Balancer (HAProxy):  {self.urls['balancer']}  (stats {self.urls['stats']})",
                 f"  Web widget:          {self.urls['balancer']}/webhooks/webchat/",
                 f"  Reviewers' console:  {self.urls['console']}",
                 f"  Redis:               {self.urls['redis']}",
                 f"  Reports database:    {self.urls['reports']}",
                 f"  Tracker database:    {self.urls['trackers']}"]
        for service in self.services:
            if service.name.startswith(("rasa-", "actions-")):
                lines.append(f"  {service.name:<20} 127.0.0.1:{service.port}  (log {service.log})")
        lines += ["  A replica that dies is restarted. Press Ctrl-C to stop everything.", ""]
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    parser.add_argument("--console-port", type=int,
                        default=int(os.environ.get("CONSOLE_PORT", "5080")))
    parser.add_argument("--host", default=os.environ.get("RASA_HOST", "127.0.0.1"))
    default_work = os.environ.get("CLUSTER_DIR") or str(PROJECT_ROOT / "var" / "cluster")
    parser.add_argument("--work", type=Path, default=Path(default_work))
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "assistant.tar.gz")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    os.umask(0o077)
    os.environ["CONSOLE_PORT"] = str(args.console_port)
    cluster = Cluster(args.replicas, args.port, args.host, args.work, args.model)

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Explicitly: a shell starts background jobs with SIGINT ignored, and the
    # children would inherit that.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.build()
        cluster.start(args.timeout)
        print(cluster.describe(), flush=True)
        cluster.supervise()
    except ServiceError as exc:
        print(f"cluster: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C (or a SIGTERM after it) must not cut the shutdown short and
        # leave replicas or the database server behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        cluster.stop()
        print("cluster: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
