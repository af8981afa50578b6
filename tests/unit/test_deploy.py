"""deploy/ (container image, Kubernetes manifests) stays in step with the code.

The manifests are not exercised here (no container engine, no cluster); this
test checks what can drift: every environment variable they set is one the code
reads, the ports are the code's defaults, and the Ingress never exposes REST.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT, get_settings

DEPLOY = PROJECT_ROOT / "deploy"
#: Read by Python, Rasa, TensorFlow, OpenMP, SQLAlchemy or the image's own start command.
RUNTIME = {"ROLE", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PYTHONHASHSEED",
           "RASA_TELEMETRY_ENABLED", "SQLALCHEMY_SILENCE_UBER_WARNING", "TF_CPP_MIN_LOG_LEVEL",
           "SANIC_HOST", "OMP_NUM_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS",
           "TF_INTER_OP_PARALLELISM_THREADS"}


def code_text() -> str:
    parts = [path.read_text(encoding="utf-8") for folder in ("bot", "channels", "actions")
             for path in (PROJECT_ROOT / folder).rglob("*.py")]
    parts.append((PROJECT_ROOT / "scripts" / "run_cluster.py").read_text(encoding="utf-8"))
    parts += [(DEPLOY / "endpoints.yml").read_text(), (PROJECT_ROOT / "endpoints.yml").read_text()]
    return "\n".join(parts)


def manifest_documents() -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / "assistant.yaml").read_text())
            if doc]


def deploy_variables() -> set[str]:
    names: set[str] = set()
    for doc in manifest_documents():
        names |= set((doc.get("stringData") or {}).keys())
        for container in (doc.get("spec", {}).get("template", {}).get("spec", {})
                          .get("containers", [])):
            names |= {item["name"] for item in container.get("env", [])}
    containerfile = (DEPLOY / "Containerfile").read_text()
    names |= set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", "\n".join(
        line for line in containerfile.splitlines() if line.startswith(("ENV", "    "))
    )))
    names |= set(re.findall(r"\$\{([A-Z_]+)\}", (DEPLOY / "endpoints.yml").read_text()))
    return names


def test_every_variable_deploy_sets_is_read_by_the_code() -> None:
    code = code_text()
    unknown = sorted(name for name in deploy_variables() - RUNTIME
                     if f'"{name}"' not in code and f"${{{name}}}" not in code)
    assert unknown == [], f"deploy/ sets variables the code never reads: {unknown}"


def test_ports_are_the_code_defaults() -> None:
    settings = get_settings()
    expected = {settings.rasa_port, settings.action_port}
    ports: set[int] = set()
    for doc in manifest_documents():
        spec = doc.get("spec", {})
        for container in spec.get("template", {}).get("spec", {}).get("containers", []):
            ports |= {port["containerPort"] for port in container.get("ports", [])}
        ports |= {port["targetPort"] for port in spec.get("ports", [])}
    assert ports == expected
    exposed = re.search(r"^EXPOSE (.+)$", (DEPLOY / "Containerfile").read_text(), re.M)
    assert exposed and {int(p) for p in exposed.group(1).split()} == expected


def test_the_ingress_exposes_only_the_channels() -> None:
    paths = [path["path"] for doc in manifest_documents() if doc["kind"] == "Ingress"
             for rule in doc["spec"]["rules"] for path in rule["http"]["paths"]]
    assert sorted(paths) == ["/webhooks/telegram/", "/webhooks/webchat/", "/webhooks/whatsapp/"]


def test_production_needs_what_the_secret_provides() -> None:
    from channels.preflight import CHANNEL_ENV

    secret = next(doc for doc in manifest_documents() if doc["kind"] == "Secret")
    provided = set(secret["stringData"])
    needed = {"PSEUDONYM_KEY", "CONTACT_ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL"}
    for names in CHANNEL_ENV.values():
        needed |= set(names)
    assert needed <= provided, sorted(needed - provided)


def test_containerfile_copies_what_exists() -> None:
    for line in (DEPLOY / "Containerfile").read_text().splitlines():
        if line.startswith("COPY ") and "models/" not in line:
            for source in line.split()[1:-1]:
                assert (PROJECT_ROOT / source).exists(), source
    assert Path(PROJECT_ROOT / "deploy" / "endpoints.yml").exists()
