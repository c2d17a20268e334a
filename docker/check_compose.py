"""Check compose.yaml without a Docker engine (`make lint-deploy`).

`docker compose config` needs the compose plugin; where it is installed it runs too. This check
reads the file with PyYAML (merge keys resolved) and verifies what a typo would break silently:
known keys, every depends_on target exists and a `service_healthy` one has a health check,
named volumes are declared, bind-mounted folders exist, environment values are strings, and a
bind-mounted Prometheus config scrapes services that exist and loads rule files that exist.

    python docker/check_compose.py [compose.yaml]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

TOP_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "depends_on", "healthcheck", "restart", "user", "working_dir", "networks",
    "labels", "logging", "deploy", "profiles", "pull_policy", "init", "stop_grace_period",
    "container_name", "read_only", "tmpfs", "shm_size", "secrets", "configs",
}  # fmt: skip
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def problems(path: Path) -> list[str]:
    """Every problem found in the compose file at `path`, as messages naming the fix."""
    doc = yaml.safe_load(path.read_text())
    out: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        return [f"{path}: no `services:` mapping at the top level"]
    out += [
        f"unknown top-level key {k!r}" for k in doc if k not in TOP_KEYS and not k.startswith("x-")
    ]
    services: dict[str, Any] = doc["services"]
    volumes = set(doc.get("volumes") or {})
    for name, svc in services.items():
        where = f"services.{name}"
        out += [f"{where}: unknown key {k!r}" for k in svc if k not in SERVICE_KEYS]
        if "image" not in svc and "build" not in svc:
            out.append(f"{where}: needs `image:` or `build:`")
        deps = svc.get("depends_on") or {}
        for dep, spec in deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps):
            if dep not in services:
                out.append(f"{where}.depends_on: no service {dep!r}")
                continue
            condition = (spec or {}).get("condition", "service_started")
            if condition not in CONDITIONS:
                out.append(
                    f"{where}.depends_on.{dep}: condition {condition!r} is not one of {sorted(CONDITIONS)}"
                )
            check = services[dep].get("healthcheck") or {}
            if condition == "service_healthy" and (not check.get("test") or check.get("disable")):
                out.append(
                    f"{where}.depends_on.{dep}: service_healthy needs a healthcheck.test on {dep!r}"
                )
        check = svc.get("healthcheck") or {}
        test = check.get("test")
        if test is not None and not (
            isinstance(test, str) or (test and test[0] in {"CMD", "CMD-SHELL", "NONE"})
        ):
            out.append(f"{where}.healthcheck.test: start the list with CMD or CMD-SHELL")
        for mount in svc.get("volumes") or []:
            source = str(mount).split(":", 1)[0]
            if source.startswith((".", "/")):
                if not (path.parent / source).exists():
                    out.append(f"{where}.volumes: bind source {source!r} does not exist")
            elif source not in volumes:
                out.append(
                    f"{where}.volumes: named volume {source!r} is not declared under `volumes:`"
                )
        for key in ("command", "entrypoint"):
            if isinstance(svc.get(key), list):
                out += [
                    f"{where}.{key}: quote {arg!r} (every argument must be a string)"
                    for arg in svc[key]
                    if not isinstance(arg, str)
                ]
        env = svc.get("environment") or {}
        for key, value in env.items() if isinstance(env, dict) else []:
            if value is not None and not isinstance(value, str):
                out.append(f"{where}.environment.{key}: quote {value!r} (compose passes strings)")
        out += [
            f"{where}.ports: quote {p!r} (YAML reads some port pairs as numbers)"
            for p in svc.get("ports") or []
            if not isinstance(p, str)
        ]
        out += _prometheus_problems(path.parent, where, svc, services)
    return out


def _prometheus_problems(
    root: Path, where: str, svc: dict[str, Any], services: dict[str, Any]
) -> list[str]:
    """A bind-mounted prometheus.yml: scrape targets are compose services, rule files exist."""
    out: list[str] = []
    for mount in svc.get("volumes") or []:
        source = str(mount).split(":", 1)[0]
        config_path = root / source / "prometheus.yml"
        if not source.startswith((".", "/")) or not config_path.is_file():
            continue
        config = yaml.safe_load(config_path.read_text()) or {}
        for rule_file in config.get("rule_files") or []:
            if not (config_path.parent / rule_file).is_file():
                out.append(f"{where}: {config_path.name} loads {rule_file!r}, which does not exist")
        for job in config.get("scrape_configs") or []:
            for static in job.get("static_configs") or []:
                for target in static.get("targets") or []:
                    host = str(target).rsplit(":", 1)[0]
                    if host not in services:
                        out.append(
                            f"{where}: job {job.get('job_name')!r} scrapes {target!r}, "
                            f"but no service is named {host!r}"
                        )
    return out


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "compose.yaml")
    found = problems(path)
    for message in found:
        print(f"{path}: {message}", file=sys.stderr)
    docker = shutil.which("docker")
    has_plugin = (
        bool(docker)
        and subprocess.run(
            [docker or "docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if (
        has_plugin
        and subprocess.run(
            [docker or "docker", "compose", "-f", str(path), "config", "--quiet"], check=False
        ).returncode
        != 0
    ):
        found.append("docker compose config failed")
    print(f"check_compose: {path}: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
