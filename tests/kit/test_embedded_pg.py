"""The embedded PostgreSQL: shared by processes on one folder, stopped by the last one to leave."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from chatbot_platform.kit.embedded_pg import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[2]
JOIN_AND_LEAVE = (
    "import sys; from pathlib import Path; from chatbot_platform.kit.embedded_pg import EmbeddedPostgres;"
    "pg = EmbeddedPostgres(Path(sys.argv[1])); pg.start(); print(pg.postmaster_pid()); pg.stop()"
)


def is_running(pid: int | None) -> bool:
    return pid is not None and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


def test_two_processes_share_one_server_and_the_last_one_stops_it(tmp_path: Path) -> None:
    mine = EmbeddedPostgres(tmp_path)
    mine.start()
    pid = mine.postmaster_pid()
    other = subprocess.run(
        [sys.executable, "-c", JOIN_AND_LEAVE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(other.stdout.strip()) == pid, "the second process joined the running server"
    assert is_running(pid), "the other process left, but this one still holds the server"
    mine.stop()
    deadline = time.monotonic() + 15
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not is_running(pid)


def test_the_server_is_given_room_for_several_processes_from_its_next_start(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path)
    server.start()
    try:
        assert server.ensure_connection_capacity(300) is True
        assert server.ensure_connection_capacity(300) is False, "already raised, waiting for a restart"
    finally:
        server.stop()
    server.start()
    try:
        assert "300" in server.psql("SHOW max_connections;")
        assert server.ensure_connection_capacity(300) is False
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cbp_serve_on_a_fresh_folder_gives_a_healthy_platform_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env |= {"STORAGE_PATH": str(tmp_path / "storage"), "PORT": str(port), "LOG_LEVEL": "warning"}
    cli = [sys.executable, "-m", "chatbot_platform.cli"]
    subprocess.run([*cli, "migrate"], env=env, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    server = subprocess.Popen([*cli, "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        health = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health is not None, "the platform did not answer"
        assert health.status_code == 200, health.text
        assert health.json()["checks"]["database"]["embedded"] is True
        token = (tmp_path / "storage" / "admin_token").read_text().strip()
        created = httpx.post(
            f"{base}/api/v1/tenants", json={"name": "Fresh"}, headers={"X-Admin-Token": token}
        )
        assert created.status_code == 201
        pgdata = tmp_path / "storage" / "pgdata"
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=60)
    # Uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM), stderr
    assert "ADMIN_TOKEN=" + token in stderr, "the generated token is printed at the first start"
    deadline = time.monotonic() + 15
    while is_running(postmaster) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not is_running(postmaster), "the embedded PostgreSQL stopped with the platform"
