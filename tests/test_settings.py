"""Settings come from the environment; a bad value fails at start and names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start(env: dict, tmp_path, show: str = "settings.DEBUG") -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SECRET_KEY", "DEBUG"}}
    clean.update({"TRADEBOOK_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "tradebook.settings"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; print({show})"],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("name, value", [
    ("DEBUG", "maybe"), ("API_MAX_ITEMS", "lots"), ("SNAPSHOT_INTERVAL", "0"), ("CONN_MAX_AGE", "x"),
    ("DATABASE_URL", "nosuchdb://x"), ("SECURE_PROXY_SSL_HEADER", "onlyone"),
])
def test_a_bad_value_names_the_variable(name, value, tmp_path):
    env = {name: value, "SECRET_KEY": "k"}
    result = start(env, tmp_path)
    assert result.returncode != 0
    assert name in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = start({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test"}, tmp_path)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_the_default_run_makes_and_keeps_a_local_secret(tmp_path):
    assert start({}, tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert start({}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_debug_is_off_unless_set(tmp_path):
    assert start({}, tmp_path).stdout.strip() == "False"
    assert start({"DEBUG": "true"}, tmp_path).stdout.strip() == "True"


def test_postgresql_prepares_the_statements_that_ask_unless_turned_off(tmp_path):
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test", "SECRET_KEY": "k"}
    show = "settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold')"
    assert start(env, tmp_path, show).stdout.strip() == str(2**31 - 1)
    assert start({**env, "DB_PREPARED_STATEMENTS": "false"}, tmp_path, show).stdout.strip() == "None"
    assert start({}, tmp_path, show).stdout.strip() == "None"  # SQLite: nothing to prepare
