"""deploy/: the NGINX site passes `nginx -t`, the systemd units `systemd-analyze verify`, the scripts
shellcheck, and the blue-green switch and rollback work on two real local servers."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from croniter import croniter

from tests.ops.tools import ensure_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRIPTS = DEPLOY / "scripts"


# -- NGINX ------------------------------------------------------------------------------------------


def _self_signed(folder: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
        capture_output=True,
        check=True,
    )  # fmt: skip


def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    nginx = ensure_tool("nginx", "nginx")
    (tmp_path / "snippets").mkdir()
    (tmp_path / "ssl").mkdir()
    _self_signed(tmp_path / "ssl")
    site = (DEPLOY / "nginx" / "chatbot-platform.conf").read_text()
    site = (
        site.replace("/etc/nginx/", f"{tmp_path}/")
        .replace("/etc/ssl/chatbot-platform/", f"{tmp_path}/ssl/")
        .replace("/var/cache/nginx/chatbot-platform", f"{tmp_path}/cache")
    )
    (tmp_path / "site.conf").write_text(site)
    shutil.copy(DEPLOY / "nginx" / "chatbot-platform-upstream.conf", tmp_path)
    for snippet in ("chatbot-platform-proxy.conf", "chatbot-platform-sse.conf"):
        shutil.copy(DEPLOY / "nginx" / snippet, tmp_path / "snippets")
    mime = "/etc/nginx/mime.types"
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include {mime};\n  client_body_temp_path {tmp_path}/body;\n"
        f"  include {tmp_path}/site.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    for feature in ("http2", "gzip on", "limit_req_zone", "proxy_cache cbp_static", "proxy_buffering off"):
        assert feature in site + (DEPLOY / "nginx" / "chatbot-platform-sse.conf").read_text()


# -- systemd, Supervisor, cron ----------------------------------------------------------------------


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = ensure_tool("systemd-analyze", "systemd")
    root = tmp_path / "srv"
    for slot in ("blue", "current"):
        cbp = root / slot / ".venv" / "bin" / "cbp"
        cbp.parent.mkdir(parents=True)
        cbp.write_text("#!/bin/sh\n")
        cbp.chmod(0o755)
    (root / "slots").mkdir()
    (root / "slots" / "blue.env").write_text("PORT=8001\n")
    units = {
        "chatbot-web@blue.service": "chatbot-web@.service",
        "chatbot-worker@ingestion.service": "chatbot-worker@.service",
        "chatbot-scheduler.service": "chatbot-scheduler.service",
    }
    for name, template in units.items():
        text = (DEPLOY / "systemd" / template).read_text().replace("/srv/chatbot-platform", str(root))
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *(str(tmp_path / name) for name in units)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr, result.stderr


def test_supervisor_runs_every_queue_the_seed_lists() -> None:
    text = (DEPLOY / "supervisor" / "chatbot-platform.conf").read_text()
    for queue, processes in {"default": 4, "ingestion": 2, "embeddings": 3, "scraping": 2}.items():
        section = text.split(f"[program:chatbot-{queue}]")[1].split("[program:")[0]
        assert f"cbp worker --queue {queue}" in section
        assert f"numprocs={processes}" in section
    assert "cbp scheduler" in text
    assert "cbp serve" in text


def test_backup_cron_lines_are_valid_cron() -> None:
    jobs = [
        line for line in (DEPLOY / "backup-cron").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]  # fmt: skip
    assert jobs
    for line in jobs:
        fields = line.split()
        assert croniter.is_valid(" ".join(fields[:5])), line
        assert fields[5] == "www-data"
        assert "cbp backup" in line


def test_the_scripts_pass_shellcheck() -> None:
    shellcheck = ensure_tool("shellcheck", "shellcheck")
    scripts = sorted(SCRIPTS.glob("*.sh"))
    assert {s.name for s in scripts} >= {"deploy.sh", "blue-green-deploy.sh", "rollback.sh", "common.sh"}
    result = subprocess.run(
        [shellcheck, "-x", *map(str, scripts)], capture_output=True, text=True, cwd=SCRIPTS
    )
    assert result.returncode == 0, result.stdout
    for script in scripts:
        if script.name != "common.sh":
            assert script.stat().st_mode & stat.S_IXUSR, f"{script.name} is not executable"


# -- blue-green on two local servers ---------------------------------------------------------------


class _Health(http.server.BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self) -> None:
        ok = self.path == "/health" and self.healthy
        self.send_response(200 if ok else 503)
        self.end_headers()
        self.wfile.write(b'{"status": "healthy"}' if ok else b'{"status": "unhealthy"}')

    def log_message(self, *args: object) -> None:
        pass


def _server(healthy: bool) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type("Handler", (_Health,), {"healthy": healthy})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@dataclass
class Site:
    root: Path
    log: Path
    upstream: Path
    env: dict[str, str]

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPTS / script)], env=self.env, capture_output=True, text=True, timeout=60
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def live(self) -> str:
        return Path(os.readlink(self.root / "current")).name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Two slots with stand-in `cbp`s and systemctl that log their calls; blue is live."""
    root, log = tmp_path / "srv", tmp_path / "calls.log"
    for slot in ("blue", "green"):
        cbp = root / slot / ".venv" / "bin" / "cbp"
        cbp.parent.mkdir(parents=True)
        cbp.write_text(f'#!/bin/sh\necho "{slot}: cbp $*" >> {log}\n')
        cbp.chmod(0o755)
    (root / "current").symlink_to(root / "blue")
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "systemctl $*" >> {log}\n')
    systemctl.chmod(0o755)
    upstream = tmp_path / "upstream.conf"
    upstream.write_text("server 127.0.0.1:8001;\n")
    env = {
        "PATH": os.environ["PATH"],
        "CBP_ROOT": str(root),
        "CBP_SYSTEMCTL": str(systemctl),
        "CBP_NGINX_UPSTREAM": str(upstream),
        "CBP_NGINX_RELOAD": f"echo 'nginx reload' >> {log}",
        "CBP_BUILD_COMMAND": f'echo "build $(basename $PWD)" >> {log}',
        "CBP_HEALTH_RETRIES": "3",
        "CBP_HEALTH_INTERVAL": "0.1",
        "CBP_DRAIN_SECONDS": "0",
        "HEALTH_CHECK_SECRET": "s3cret",
    }
    return Site(root, log, upstream, env)


def test_blue_green_switches_traffic_to_the_healthy_new_slot(site: Site) -> None:
    blue, blue_port = _server(healthy=True)
    green, green_port = _server(healthy=True)
    site.env |= {"CBP_BLUE_PORT": str(blue_port), "CBP_GREEN_PORT": str(green_port)}
    try:
        result = site.run("blue-green-deploy.sh")
        assert result.returncode == 0, result.stderr + result.stdout
        assert site.live() == "green"
        assert Path(os.readlink(site.root / "previous")).name == "blue"
        assert f"server 127.0.0.1:{green_port};" in site.upstream.read_text()
        calls = site.calls()
        assert calls.index("build green") < calls.index("green: cbp migrate")
        assert calls.index("green: cbp migrate") < calls.index("systemctl restart chatbot-web@green")
        assert calls.index("nginx reload") < calls.index("systemctl stop chatbot-web@blue")
        assert any(c.startswith("systemctl restart chatbot-worker@default") for c in calls)

        site.log.unlink()
        result = site.run("rollback.sh")
        assert result.returncode == 0, result.stderr + result.stdout
        assert site.live() == "blue"
        assert f"server 127.0.0.1:{blue_port};" in site.upstream.read_text()
        calls = site.calls()
        assert calls[0] == "blue: cbp down --retry 30"
        assert calls[-1] == "blue: cbp up"
        assert "systemctl stop chatbot-web@green" in calls
    finally:
        blue.shutdown()
        green.shutdown()


def test_blue_green_keeps_traffic_when_the_new_slot_is_unhealthy(site: Site) -> None:
    blue, blue_port = _server(healthy=True)
    green, green_port = _server(healthy=False)
    site.env |= {"CBP_BLUE_PORT": str(blue_port), "CBP_GREEN_PORT": str(green_port)}
    try:
        result = site.run("blue-green-deploy.sh")
        assert result.returncode == 1
        assert "traffic stays on blue" in result.stderr
        assert site.live() == "blue"
        assert site.upstream.read_text() == "server 127.0.0.1:8001;\n"
        assert "nginx reload" not in site.calls()
        assert site.calls()[-1] == "systemctl stop chatbot-web@green"
    finally:
        blue.shutdown()
        green.shutdown()


def test_deploy_runs_the_seed_steps_in_order_and_ends_online(site: Site) -> None:
    blue, blue_port = _server(healthy=True)
    site.env |= {"CBP_BLUE_PORT": str(blue_port), "CBP_MAINTENANCE_SECRET": "let-me-in-please"}
    try:
        result = site.run("deploy.sh")
        assert result.returncode == 0, result.stderr + result.stdout
    finally:
        blue.shutdown()
    steps = [c for c in site.calls() if not c.startswith("systemctl restart chatbot-worker")]
    assert steps == [
        "blue: cbp backup",
        "blue: cbp down --refresh 15 --retry 60 --secret let-me-in-please",
        "build blue",
        "blue: cbp cache clear",
        "blue: cbp migrate",
        "systemctl restart chatbot-web@blue",
        "blue: cbp up",
    ]


def test_deploy_stays_in_maintenance_when_unhealthy(site: Site) -> None:
    site.env |= {"CBP_BLUE_PORT": str(_free_port())}  # nothing listens: never healthy
    result = site.run("deploy.sh")
    assert result.returncode == 1
    assert "stays in maintenance mode" in result.stdout + result.stderr
    assert "blue: cbp up" not in site.calls()
