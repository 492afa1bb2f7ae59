"""A throwaway PostgreSQL cluster and an MLflow tracking server on loopback, for the production tests.

PostgreSQL refuses to run as root, so as root every server command runs as the `postgres` OS user (runuser) in a
temporary folder that user owns; the server listens on 127.0.0.1 only, on a free port, with its unix socket in
that folder. Host connections need a password (scram-sha-256), like a real deployment.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from servers import free_port, http_ok, stop_groups, wait_until

SUPERUSER_PASSWORD = "pg-super-test-pw"


def postgres_bindir() -> Path | None:
    """The newest Debian PostgreSQL bin folder with initdb and pg_ctl, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb") if os.access(p, os.X_OK)]
    found = [d for d in found if (d / "pg_ctl").exists() and (d / "psql").exists()]
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0) if found else None


def skip_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (`make test` installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing (needed to start PostgreSQL as the postgres user)"
    return None


def _tail(path: Path, n: int = 2000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else "(no log)"


class Postgres:
    """One PostgreSQL cluster in a temp folder: `start()`, `create_database()`, `query()`, `stop()`."""

    def __init__(self) -> None:
        self.bindir = postgres_bindir()
        assert self.bindir is not None, skip_reason()
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.port = 0
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)

    def _run(self, *cmd: str, timeout: float = 120) -> str:
        proc = subprocess.run(
            [*self._as_postgres, *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C"},
        )
        if proc.returncode:
            raise RuntimeError(
                f"{' '.join(cmd[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-1500:]}\n"
                f"server log: {_tail(self.log)}"
            )
        return proc.stdout

    def start(self) -> Postgres:
        """initdb, then start on a free loopback port; fsync off (a test cluster)."""
        pwfile = self.root / "pwfile"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        if self._as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        self.port = free_port()
        opts = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c shared_buffers=32MB -c max_connections=60"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        )
        return self

    def query(self, sql: str, db: str = "postgres") -> list[list[str]]:
        """Rows of `sql` run by the superuser over the unix socket (values as text)."""
        out = self._run(
            str(self.bindir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "\t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.root),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        )
        return [line.split("\t") for line in out.splitlines() if line]

    def create_database(self, name: str, owner: str, password: str) -> str:
        """A login role owning a new database; returns its SQLAlchemy URL over TCP (password auth)."""
        self.query(f"CREATE ROLE {owner} LOGIN PASSWORD '{password}'")
        self.query(f"CREATE DATABASE {name} OWNER {owner}")
        return self.url(name, owner, password)

    def url(self, db: str, user: str, password: str) -> str:
        """postgresql+psycopg2://user:password@127.0.0.1:port/db (psycopg2 is what dagster-postgres brings)."""
        return f"postgresql+psycopg2://{quote(user)}:{quote(password)}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        """Fast shutdown (disconnects clients), then remove the folder; kills the postmaster if pg_ctl fails."""
        try:
            if self.port and (self.data / "postmaster.pid").exists():
                try:
                    self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
                except (RuntimeError, subprocess.TimeoutExpired):
                    pid = int((self.data / "postmaster.pid").read_text().split()[0])
                    os.kill(pid, signal.SIGKILL)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class MlflowServer:
    """`mlflow server` with a PostgreSQL backend store and proxied artifacts, in its own process group."""

    def __init__(self, backend_uri: str, artifacts: Path, log: Path) -> None:
        self.backend_uri, self.artifacts, self.log = backend_uri, artifacts, log
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The tracking URI clients use."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MlflowServer:
        """Launch (returns at once; `wait_ready` blocks). Store and destination come from env, not argv (ps shows argv)."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "MLFLOW_BACKEND_STORE_URI": self.backend_uri,
            "MLFLOW_ARTIFACTS_DESTINATION": self.artifacts.as_uri(),
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
        }
        mlflow = Path(sys.executable).parent / "mlflow"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout_s: float = 240) -> None:
        """Until /health answers; fails with the server log when it exits or never answers."""

        def dead() -> str | None:
            return f"exited: {_tail(self.log)}" if self.proc is None or self.proc.poll() is not None else None

        wait_until("mlflow server", lambda: http_ok(f"{self.url}/health"), timeout_s, dead, every_s=0.5)

    def stop(self) -> None:
        """Stop the server's process group (uvicorn and its workers)."""
        if self.proc is not None:
            stop_groups([self.proc])
