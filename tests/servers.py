"""Throwaway PostgreSQL and Redis servers, and Heliograph under gunicorn, that a test
may stop and start again (tests/statuspage/test_outage.py).

Everything listens on a free port of 127.0.0.1, never the suite's own 5432 and 6379,
and keeps its files in one temporary folder that ``Servers.destroy`` removes.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, *, timeout: float, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


def stop_process(
    process: subprocess.Popen[bytes] | None, how: int = signal.SIGTERM
) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(how)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Postgres:
    """A cluster of its own, trusting local connections, started with ``pg_ctl``.

    PostgreSQL refuses to run as root: then the cluster belongs to the ``postgres``
    user, and its folder (outside pytest's root-only temporary folders) is theirs.
    """

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder / "postgres"
        self.folder.mkdir()
        self.data = self.folder / "data"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [*self._as_owner, str(POSTGRES_BIN / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def create(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "--no-locale", "-E", "UTF8",
        )  # fmt: skip

    def start(self) -> None:
        # Durability is of no use to a throwaway cluster; speed is.
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.folder / "postgres.log")
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-o", options, "-l", log, "-w"
        )

    def stop(self) -> None:
        """Stop now, closing every connection: the app sees its server gone."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


class Redis:
    """A Redis that keeps nothing on disk: a restart comes back empty, as a new one."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        command = [
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, timeout=10, process=self.process)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Servers:
    """PostgreSQL and Redis in one temporary folder."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="heliograph-servers-"))
        os.chmod(self.folder, 0o755)  # the postgres user walks through it
        self.postgres = Postgres(self.folder)
        self.redis = Redis(self.folder)

    def start(self) -> None:
        self.postgres.create()
        self.postgres.start()
        self.redis.start()

    def environment(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url(0),
            "CELERY_BROKER_URL": self.redis.url(1),
        }

    def destroy(self) -> None:
        """Stop whatever still runs and remove every file; safe to call at any time."""
        try:
            self.redis.stop()
            if self.postgres.is_running():
                self.postgres.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class App:
    """Heliograph's ``manage.py`` and gunicorn, with the environment they are given."""

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        self.folder = folder
        self.port = free_port()
        self.environment = {**os.environ, **environment}
        self.log_path = folder / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self, workers: int = 2) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "statuspage.wsgi",
            "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
            "--timeout", "30", "--log-level", "warning",
        ]  # fmt: skip
        # A file, not a pipe: nobody reads a pipe while the test runs.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.environment, stdout=log, stderr=log
            )
        try:
            wait_for_port(self.port, timeout=30, process=self.process)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(
                f"gunicorn did not start ({error}):\n{self.log()}"
            ) from None

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # SIGTERM waits for its workers
        self.process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
