"""The production front: nginx's configuration (deploy/nginx/) and gunicorn's own errors.

What nginx does under a slowloris attack is checked live by scripts/slowloris_check.py;
these check the configuration itself, quickly, without a server.
"""

import importlib.util
import inspect
import json
import re
import runpy
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_CODES = {"invalid", "server_error", "service_unavailable"}


def load_front():
    spec = importlib.util.spec_from_file_location("front", ROOT / "scripts" / "front.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


front = load_front()


@pytest.fixture
def rendered(tmp_path) -> str:
    front.write_config(tmp_path, listen="127.0.0.1:8000", upstream="127.0.0.1:8001")
    return (tmp_path / "api.conf").read_text()


def test_rendering_fills_every_placeholder_and_refuses_an_unknown_one():
    assert front.render("listen ${API_LISTEN};", {"API_LISTEN": 80}) == "listen 80;"
    with pytest.raises(KeyError, match="API_TYPO"):
        front.render("listen ${API_TYPO};", {"API_LISTEN": 80})


def test_nginx_takes_the_same_body_limit_as_the_app(rendered):
    [limit] = re.findall(r"client_max_body_size (\d+)k;", rendered)

    assert int(limit) * 1024 == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def test_nginx_buffers_requests_and_answers_and_times_out_slow_clients(rendered):
    directives = dict(re.findall(r"^\s*([a-z_]+) ([^;]+);", rendered, re.MULTILINE))

    assert directives["proxy_request_buffering"] == "on"
    assert directives["proxy_buffering"] == "on"
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert directives[timeout] == "10s"
    assert directives["large_client_header_buffers"] == "4 4k"
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in rendered
    # gunicorn also believes these from 127.0.0.1: nginx must not pass a client's on.
    assert 'proxy_set_header X-Forwarded-Ssl "";' in rendered
    assert 'proxy_set_header X-Forwarded-Protocol "";' in rendered


def test_every_error_nginx_makes_itself_is_json_in_the_contracts_envelope(rendered):
    pages = dict(re.findall(r"error_page (\d+)(?: =\d+)? (\S+);", rendered))
    bodies = {
        path: (int(status), json.loads(body.replace("\\n", "")))
        for path, status, body in re.findall(
            r"location = (\S+) \{\s*internal;\s*default_type application/json;\s*"
            r"(?:add_header Retry-After 1 always;\s*)?return (\d+) '([^']*)';",
            rendered,
        )
    }

    assert set(pages) == {"400", "408", "413", "414", "494", "500", "502", "503", "504"}
    for status, path in pages.items():
        answered, body = bodies[path]
        assert set(body) == {"code", "detail"}
        assert body["code"] in CONTRACT_CODES
        assert answered == (431 if status == "494" else int(status))  # 494: nginx's "431"
        assert body["code"] == ("invalid" if answered < 500 else body["code"])


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs Debian's nginx")
def test_nginx_accepts_the_configuration(tmp_path):
    conf = front.write_config(tmp_path, listen="127.0.0.1:8000", upstream="127.0.0.1:8001")

    result = subprocess.run(  # noqa: S603 - nginx's absolute path and our own files
        [front.NGINX, "-t", "-q", "-p", str(tmp_path), "-c", str(conf), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 0, result.stderr


# --- gunicorn's own error answers (gunicorn.conf.py) ------------------------------------


@pytest.fixture
def json_errors(monkeypatch):
    """Load gunicorn.conf.py as gunicorn does (it replaces gunicorn.util.write_error)."""
    from gunicorn import util

    monkeypatch.setattr(util, "write_error", util.write_error)  # restored afterwards
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return util.write_error


def written_by(write_error, status, reason, message) -> tuple[str, dict]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        write_error(ours, status, reason, message)
        ours.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := theirs.recv(65536):
            raw += chunk
    head, _, body = raw.decode("latin-1").partition("\r\n\r\n")
    return head, json.loads(body)


@pytest.mark.parametrize(
    ("status", "reason", "code"),
    [
        (400, "Bad Request", "invalid"),
        (414, "URI Too Long", "invalid"),
        (431, "Request Header Fields Too Large", "invalid"),
        (403, "Forbidden", "permission_denied"),
        (500, "Internal Server Error", "server_error"),
    ],
)
def test_gunicorns_own_errors_are_json_and_echo_nothing(json_errors, status, reason, code):
    head, body = written_by(json_errors, status, reason, "Invalid request line '<script>'")

    assert head.startswith(f"HTTP/1.1 {status} {reason}\r\n")
    assert "Content-Type: application/json" in head
    assert body == {"code": code, "detail": f"{reason}."}


def test_gunicorn_still_writes_its_errors_through_the_function_we_replace():
    # If a gunicorn upgrade stops calling util.write_error(sock, status, reason, mesg),
    # its HTML pages would come back unnoticed: fail here instead.
    from gunicorn import util
    from gunicorn.workers import base

    assert "util.write_error(client, status_int, reason, mesg)" in inspect.getsource(base)
    assert list(inspect.signature(util.write_error).parameters) == [
        "sock",
        "status_int",
        "reason",
        "mesg",
    ]
