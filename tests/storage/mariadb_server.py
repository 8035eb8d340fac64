"""A throwaway MariaDB server on loopback for tests and benchmarks (Debian's `mariadb-server`).

    server = MariaDBServer.start(tmp_dir)      # install a datadir, run mariadbd, create db + user
    server.url                                 # mysql+pymysql://polybot:...@127.0.0.1:<port>/polybot
    server.stop(); server.restart()            # an outage, and the server back on the same port
    server.stop()

The server reads no option file (`--no-defaults`), listens on 127.0.0.1 only (a free port), keeps
its socket, pid and datadir inside `tmp_dir`, and runs as the current user. Start-up is polled
with a deadline. On Linux the server gets SIGTERM if the process that started it dies (a crashed
or killed test session leaves no server behind).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql

DATABASE = "polybot"
USER = "polybot"
PASSWORD = "polybot-test-pw"


def find_binaries() -> tuple[str, str] | None:
    """(install-db, server) binaries, or None when MariaDB/MySQL server is not installed."""
    install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
    server = shutil.which("mariadbd") or shutil.which("mysqld")
    if server is None:
        server = next(
            (p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld") if os.path.exists(p)), None
        )
    if install is None or server is None:
        return None
    return install, server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the process that started us dies, so a crashed or
    killed test session never leaves a server behind (Linux prctl PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG


def _user_name() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "root")


class MariaDBServer:
    def __init__(self, root: Path, server_bin: str) -> None:
        self.root = root
        self.server_bin = server_bin
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def socket_path(self) -> Path:
        return self.root / "mysqld.sock"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def start(cls, root: Path, *, deadline_s: float = 60.0) -> MariaDBServer:
        binaries = find_binaries()
        if binaries is None:
            raise FileNotFoundError("mariadb-install-db / mariadbd not found")
        install, server_bin = binaries
        root.mkdir(parents=True, exist_ok=True)
        with open(root / "install.log", "wb") as out:
            subprocess.run(
                [
                    install,
                    "--no-defaults",
                    f"--datadir={root / 'data'}",
                    f"--user={_user_name()}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=deadline_s,
            )
        server = cls(root, server_bin)
        try:
            server._spawn()
            server._wait_ready(deadline_s)
            server._create_user()
        except BaseException:
            server.stop()
            raise
        return server

    def _spawn(self) -> None:
        command = [
            self.server_bin,
            "--no-defaults",
            f"--datadir={self.root / 'data'}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--user={_user_name()}",
            f"--log-error={self.log_path}",
            "--innodb-buffer-pool-size=64M",
            "--max-connections=100",
            "--skip-name-resolve",
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def _wait_ready(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise RuntimeError(f"mariadbd exited early ({code}): {self.log()}")
            # Probe with our own socket (closed for sure; a failed pymysql connect leaks one).
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.socket_path))
            except OSError as exc:
                last = exc
                time.sleep(0.05)  # poll interval while the server boots
                continue
            finally:
                probe.close()
            conn = self.root_connection()
            conn.close()
            return
        raise TimeoutError(f"mariadbd not ready within {deadline_s} s: {last}; {self.log()}")

    def root_connection(self) -> pymysql.connections.Connection:
        return pymysql.connect(
            unix_socket=str(self.socket_path), user="root", password="", connect_timeout=2
        )

    def _execute(self, *statements: tuple[str, tuple[str, ...]]) -> None:
        conn = self.root_connection()
        try:
            with conn.cursor() as cur:
                for sql, args in statements:
                    cur.execute(sql, args or None)
            conn.commit()
        finally:
            conn.close()

    def _create_user(self) -> None:
        self._execute(
            (f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4", ()),
            (f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY %s", (PASSWORD,)),
            (f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'", ()),
        )
        self.url = self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database on this server; returns its URL."""
        self._execute(
            (f"DROP DATABASE IF EXISTS {name}", ()),
            (f"CREATE DATABASE {name} CHARACTER SET utf8mb4", ()),
        )
        return self.url_for(name)

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""

    def restart(self, *, deadline_s: float = 60.0) -> None:
        """Start the (stopped) server again on the same data directory and port."""
        self.stop()
        self._spawn()
        self._wait_ready(deadline_s)

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
