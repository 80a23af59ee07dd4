"""Production is safe by default: start-up refuses weak or malformed secrets, `check --deploy` is clean with the
documented settings, and the demo's looser defaults never reach production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3Y-" + "Zq8fW2mX7pLr4vT9nB6cJ1hD5sG0aE3uY8iO2wQ7zR4tK9mN1xV6bH3"


def production_env(tmp_path, **overrides) -> dict:
    """The documented production settings (docs/operations.md), with nothing of the demo or the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAIHUA_", "DATABASE_URL", "DJANGO_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT / "src"),
            "LAIHUA_SECRET_KEY": STRONG_KEY,
            "LAIHUA_FIELD_KEYS": Fernet.generate_key().decode(),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
            "LAIHUA_ALLOWED_HOSTS": "laihua.example.org",
            "LAIHUA_VAR_DIR": str(tmp_path),
        }
    )
    env.update(overrides)
    return env


def run_laihua(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "laihua.manage", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = run_laihua(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_secure(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.DATABASES['default']['CONN_HEALTH_CHECKS'], s.DEBUG)"
    )
    result = run_laihua(production_env(tmp_path), "shell", "--no-imports", "-c", code)
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "False"], result.stderr


def test_the_https_redirect_can_be_turned_off_behind_a_terminating_proxy(tmp_path):
    env = production_env(tmp_path, LAIHUA_HTTPS_REDIRECT="false", LAIHUA_BEHIND_PROXY="true")
    result = run_laihua(
        env, "shell", "--no-imports", "-c", "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT)"
    )
    assert result.stdout.strip() == "False", result.stderr


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("not-a-key", "key 1 is not a Fernet key"),
        (Fernet.generate_key().decode() + ",short", "key 2 is not a Fernet key"),
    ],
    ids=["not-a-key", "second-key-short"],
)
def test_a_malformed_field_key_is_refused_at_start_up(tmp_path, keys, message):
    result = run_laihua(production_env(tmp_path, LAIHUA_FIELD_KEYS=keys), "check")
    assert result.returncode != 0 and message in result.stderr


@pytest.mark.parametrize("secret", ["short-secret", "a" * 60, "django-insecure-" + "x1y2z3w4v5" * 5])
def test_a_weak_secret_key_is_refused_outside_the_demo(tmp_path, secret):
    result = run_laihua(production_env(tmp_path, LAIHUA_SECRET_KEY=secret), "check")
    assert result.returncode != 0 and "LAIHUA_SECRET_KEY is too weak" in result.stderr


def test_the_demo_may_keep_its_own_key(tmp_path):
    env = production_env(tmp_path, LAIHUA_DEMO="1")
    del env["LAIHUA_SECRET_KEY"]
    result = run_laihua(env, "check")
    assert result.returncode == 0, result.stderr
