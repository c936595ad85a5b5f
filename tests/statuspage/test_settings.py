"""The settings helpers refuse malformed values with a message that says what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from statuspage import settings as heliograph_settings

ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_booleans_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIOGRAPH_FLAG", "yes")
    assert heliograph_settings.env_bool("HELIOGRAPH_FLAG", False) is True
    monkeypatch.setenv("HELIOGRAPH_FLAG", "off")
    assert heliograph_settings.env_bool("HELIOGRAPH_FLAG", True) is False
    monkeypatch.setenv("HELIOGRAPH_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="HELIOGRAPH_FLAG='maybe'"):
        heliograph_settings.env_bool("HELIOGRAPH_FLAG", False)


def test_it_reads_integers_and_refuses_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELIOGRAPH_NUMBER", "12")
    assert heliograph_settings.env_int("HELIOGRAPH_NUMBER", 1) == 12
    monkeypatch.setenv("HELIOGRAPH_NUMBER", "twelve")
    with pytest.raises(ImproperlyConfigured, match="expected a whole number"):
        heliograph_settings.env_int("HELIOGRAPH_NUMBER", 1)


@pytest.mark.parametrize("refused", ["0", "-1", "half", "nan", "inf", "1e999"])
def test_it_reads_fractional_seconds_and_refuses_others(
    monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    monkeypatch.setenv("HELIOGRAPH_PERIOD", "0.25")
    assert heliograph_settings.env_seconds("HELIOGRAPH_PERIOD", 1) == 0.25
    monkeypatch.setenv("HELIOGRAPH_PERIOD", refused)
    with pytest.raises(ImproperlyConfigured, match="above 0, such as 0.5"):
        heliograph_settings.env_seconds("HELIOGRAPH_PERIOD", 1)


def test_it_reads_secrets_from_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("HELIOGRAPH_SECRET_FILE", str(secret))
    assert heliograph_settings.env_str("HELIOGRAPH_SECRET") == "from-a-file"
    monkeypatch.setenv("HELIOGRAPH_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        heliograph_settings.env_str("HELIOGRAPH_SECRET")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # A production-like environment: none of the test run's own switches.
    dropped = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_requires_a_secret_key_outside_debug() -> None:
    result = _manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY is required unless DEBUG=true" in result.stderr


def test_it_refuses_a_dispatch_too_slow_for_the_fastest_probes() -> None:
    """Ticking once a second, a tick that came late skips a 1 s probe's slot."""
    key = "a-long-random-production-secret-" + "x" * 40
    result = _manage("check", SECRET_KEY=key, PROBES_DISPATCH_SECONDS="1")
    assert result.returncode != 0
    assert "PROBES_DISPATCH_SECONDS=1: expected at most 0.5" in result.stderr
    assert "Traceback" not in result.stderr
    assert (
        _manage("check", SECRET_KEY=key, PROBES_DISPATCH_SECONDS="0.25").returncode == 0
    )


def test_it_passes_the_deployment_checklist_with_production_settings() -> None:
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        SECURE_COOKIES="true",
        SECURE_SSL_REDIRECT="true",
        # HSTS for a year is the default; including subdomains is the operator's call.
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        STATIC_MANIFEST="true",
    )
    assert result.returncode == 0, result.stderr


def test_it_gives_up_on_an_unreachable_database_or_redis_within_seconds() -> None:
    settings = heliograph_settings
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.postgresql":
        assert database["OPTIONS"]["connect_timeout"] == 5
    if settings.REDIS_URL:
        assert settings.CACHES["default"]["OPTIONS"] == {
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
        }
    if settings.CELERY_BROKER_URL.startswith("redis://"):
        assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] == 2


# --- the embedded default's key (var/secret_key, as bin/run makes it) --------------

EMBEDDED_KEY = "embedded-key-made-by-bin-run-" + "k3y" * 10


def _embedded(
    var_dir: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`manage.py ...` as run by hand in the project folder: no SECRET_KEY, no
    SECRET_KEY_FILE, and no server variables (the test run's are dropped)."""
    dropped = {"SECRET_KEY", "SECRET_KEY_FILE", "DATABASE_URL", "REDIS_URL"}
    dropped |= {"CELERY_BROKER_URL", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "HELIOGRAPH_VAR_DIR": str(var_dir), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_runs_demo_break_with_the_embedded_key_and_no_variables(
    tmp_path: Path,
) -> None:
    (tmp_path / "secret_key").write_text(EMBEDDED_KEY + "\n")
    result = _embedded(tmp_path, "demo", "break", "login")
    assert result.returncode == 0, result.stderr
    assert "Acme's broken paths: login." in result.stdout
    assert '"login"' in (tmp_path / "demo-target.json").read_text()
    result = _embedded(tmp_path, "demo", "mend", "login")
    assert result.returncode == 0, result.stderr
    assert "Acme's broken paths: none." in result.stdout


def test_it_still_requires_a_key_without_the_embedded_one(tmp_path: Path) -> None:
    result = _embedded(tmp_path, "demo", "break", "login")
    assert result.returncode != 0
    assert "SECRET_KEY is required unless DEBUG=true" in result.stderr


def test_it_never_reads_the_embedded_key_for_a_database_server(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text(EMBEDDED_KEY)
    server = "postgres://postgres@127.0.0.1:5432/unused"
    result = _embedded(tmp_path, "demo", "break", "login", DATABASE_URL=server)
    assert result.returncode != 0
    assert "SECRET_KEY is required unless DEBUG=true" in result.stderr


def test_it_refuses_a_weak_embedded_key(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short")
    result = _embedded(tmp_path, "demo", "break", "login")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak for production" in result.stderr
