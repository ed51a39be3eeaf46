"""``huashu keys`` and ``huashu serve``'s settings, as a user runs them."""
from __future__ import annotations

import subprocess
import sys

import httpx
from api_support import REPO, bearer, huashu_env

from api.settings import Settings


def huashu(server, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analyzer.cli", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=60,
        env={**server.env, **extra_env},
    )


def test_keys_create_prints_a_key_the_server_accepts(server, http: httpx.Client):
    r = huashu(server, "keys", "create", "--role", "analyst", "--name", "王分析")
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("hs_") and len(key) > 40
    assert http.get("/v1/transcripts", headers=bearer(key)).status_code == 200
    assert http.post("/v1/suggest", json={"text": "你好"}, headers=bearer(key)).status_code == 403


def test_keys_list_shows_no_secrets_and_revoke_takes_effect(server, http: httpx.Client):
    key = huashu(server, "keys", "create", "--role", "agent", "--name", "临时").stdout.strip()
    listing = huashu(server, "keys", "list")
    assert listing.returncode == 0 and "临时" in listing.stdout and key not in listing.stdout
    key_id = next(line.split("\t")[0] for line in listing.stdout.splitlines() if "\t临时\t" in line)
    assert huashu(server, "keys", "revoke", key_id).returncode == 0
    assert http.post("/v1/suggest", json={"text": "你好"}, headers=bearer(key)).status_code == 401


def test_keys_errors_are_one_line(server, tmp_path):
    r = huashu(server, "keys", "create", "--role", "king", "--name", "x")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = huashu(server, "keys", "list", HUASHU_DATABASE_URL="mysql://nope")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "HUASHU_DATABASE_URL" in r.stderr
    r = huashu(server, "keys", "revoke", "999999")
    assert r.returncode == 2 and "999999" in r.stderr


def test_serve_wrote_the_admin_key_to_its_file_never_to_the_log(server):
    """With no terminal attached the key goes to HUASHU_ADMIN_KEY_FILE; the log says where, in both
    languages (the terminal case: tests/api/test_api_security.py)."""
    log = server.log.read_text(encoding="utf-8")
    assert server.admin_key not in log
    assert "管理员密钥" in log and "admin key" in log and str(server.home / "huashu-admin-key.txt") in log


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("HUASHU_LEXICON", "a.yaml:b.yaml")
    monkeypatch.setenv("HUASHU_MASK_PII", "false")
    monkeypatch.setenv("HUASHU_DATABASE_URL", "postgresql://u:p@127.0.0.1/db")
    s = Settings()
    assert s.lexicon == ("a.yaml", "b.yaml")
    assert s.mask_pii is False
    assert s.database_url == "postgresql+psycopg://u:p@127.0.0.1/db"
    assert (s.max_body_bytes, s.max_upload_bytes, s.max_utterance_chars) == (1 << 20, 5 << 20, 2000)


def test_env_helper_drops_the_callers_huashu_settings(monkeypatch):
    monkeypatch.setenv("HUASHU_MASK_PII", "false")
    assert "HUASHU_MASK_PII" not in huashu_env("sqlite:///x.db")
