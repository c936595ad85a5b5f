"""Heliograph settings, read from the environment only.

With no variables set, Heliograph runs embedded: SQLite in ``var/``, for the data and
for Celery's broker, so it needs no server. ``.env.example`` lists every variable.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from access.roles import ROLES  # names only: imports nothing of Django's apps

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    """The variable's value, or the contents of the file named by ``NAME_FILE``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={path}: cannot read ({exc})"
            ) from exc
    return os.environ.get(name)


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected true or false")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={value!r}: expected a whole number"
        ) from None


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds, fractions allowed (a beat period)."""
    value = _raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise ImproperlyConfigured(
            f"{name}={value!r}: expected a number of seconds above 0, such as 0.5"
        )
    return seconds


def env_list(name: str, default: str = "") -> list[str]:
    value = env_str(name, default) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks (``10.0.0.5,192.168.0.0/16``)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in env_list(name):
        try:
            # Not strict: 10.0.0.5/8 means 10.0.0.0/8, as most allow-lists read it.
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or a CIDR network"
            ) from None
    return networks


def secret_key_weakness(key: str) -> str | None:
    """Why ``check --deploy`` would call the key weak (security.W009), or None."""
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"it has {len(key)} characters, fewer than {SECRET_KEY_MIN_LENGTH}"
    if len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return (
            f"it has {len(set(key))} different characters, "
            f"fewer than {SECRET_KEY_MIN_UNIQUE_CHARACTERS}"
        )
    if key.startswith(SECRET_KEY_INSECURE_PREFIX):
        return f"it starts with {SECRET_KEY_INSECURE_PREFIX!r}"
    return None


DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(env_str("HELIOGRAPH_VAR_DIR", str(BASE_DIR / "var")) or "var")
SECRET_KEY = env_str("SECRET_KEY")
_EMBEDDED_KEY = VAR_DIR / "secret_key"
if not SECRET_KEY and not env_str("DATABASE_URL") and _EMBEDDED_KEY.is_file():
    # The embedded default (no DATABASE_URL): the key bin/run made, so a command run
    # in this folder (`manage.py demo break login`) works as the running install
    # does. An install on a database server names its key: never one found in var/.
    SECRET_KEY = _EMBEDDED_KEY.read_text().strip()
_NEW_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required unless DEBUG=true: "
            f"set SECRET_KEY or SECRET_KEY_FILE (generate one with: {_NEW_KEY})"
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"
elif not DEBUG and (_weakness := secret_key_weakness(SECRET_KEY)):
    # Sessions, password reset links and subscription links are signed with it.
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak for production (DEBUG=false): {_weakness}. Use at "
        f"least {SECRET_KEY_MIN_LENGTH} random characters; generate one with: "
        f"{_NEW_KEY}"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "incidents",
    "visitor",
    "uptime",
    "probes",
    "notifications",
    "audience",
    "tokens",
    "integrations",
    "access",
    "audit",
    "configfile",
    "metrics",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    # Outermost, so it times and logs every answer, the snapshot's too.
    "kit.access.AccessLogMiddleware",
    # Published public pages are answered from the snapshot, with no query.
    "visitor.snapshot.serve.SnapshotMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy (settings: CONTENT_SECURITY_POLICY).
    "kit.policy.PolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Statuspage's old clients add .json to management API paths.
    "kit.api.compat.JsonSuffixMiddleware",
    # A body too large for the API is a JSON 413 before anything reads it.
    "kit.bodies.BodyLimitMiddleware",
    # Which page a request is for (request.page): by host name, or /p/<slug>/.
    "visitor.pages.PageMiddleware",
    # The console answers 503 up front while PostgreSQL or Redis is out.
    "kit.middleware.ConsoleServersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A private page's content only to those its rules let in (audience/).
    "audience.middleware.AudienceMiddleware",
    # Whatever the request writes is recorded under its author (audit log).
    "audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "statuspage.urls"
WSGI_APPLICATION = "statuspage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'heliograph.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if not DATABASE_URL:
    # The embedded default: web, worker and beat share one SQLite file, so write
    # transactions take the lock up front and readers never block writers (WAL).
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails a request within seconds (the console answers 503)
    # instead of holding it until the operating system gives up on the connection.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# Connecting to Redis, and each command, give up after this long: a Redis that is out
# fails a request quickly rather than holding it.
REDIS_TIMEOUT_SECONDS = env_int("REDIS_TIMEOUT_SECONDS", 2)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
            },
        }
    }
else:
    # Embedded: one cache in var/ for every process of this machine (web workers, the
    # Celery worker), so the sign-up and API rate limits count across them. diskcache
    # increments in an SQLite transaction; Django's DatabaseCache and FileBasedCache
    # get then set, and lost 7% and 60% of 2,000 increments from 4 processes.
    CACHES = {
        "default": {
            "BACKEND": "diskcache.DjangoCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic` first; tests and DEBUG use plain names.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", False)

# --- Security ------------------------------------------------------------------------
# Every setting here is listed, with its default, in the README's "Security settings".
# (SECRET_KEY is read and checked at the top of this file.)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# A year. Django (and the snapshot) send it only on HTTPS answers, so a plain-HTTP
# install such as the demo never gets it.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
# Both reach beyond this install (its subdomains; browsers' built-in lists, slow to
# leave), so each is the operator's choice.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every answer (django-csp; the snapshot stores it with
# each page). No page needs an inline script or style: a nonce appears only in
# the policy of a page that asks for one (the API documentation's Redoc). Views
# that need more say so with csp_update or csp_replace (the compact view may be
# framed by any site).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}
# One line per request on the logger "heliograph.access" (kit.access), with
# the secret part of token URLs replaced; the web server's own access log stays off.
ACCESS_LOG = env_bool("ACCESS_LOG", True)

# Celery: the embedded default keeps the broker in an SQLite file under var/, so a
# bare machine needs no server (kit/broker.py says why it is safe with several
# processes); production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = (
    env_str("CELERY_BROKER_URL") or f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    # kombu hands these to SQLAlchemy's create_engine. A process waits up to 30 s
    # for the file's write lock (each take and each publish holds it for a moment).
    {"connect_args": {"timeout": 30}}
    if CELERY_BROKER_URL.startswith("sqla+sqlite")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Only connecting: a worker's connection waits for messages by design, so reads
    # keep kombu's defaults.
    CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] = REDIS_TIMEOUT_SECONDS
CELERY_TASK_DEFAULT_QUEUE = "default"
# Notifications have their own queue, so a long job elsewhere never delays them. So
# has the probes' dispatch, due each second: behind a rollup, a prune or a burst of
# periodic tasks on "default" it would run late and its skipped slots go unrun.
CELERY_TASK_ROUTES = {
    "notifications.tasks.*": {"queue": "notifications"},
    "audience.tasks.*": {"queue": "notifications"},
    "probes.tasks.probes_dispatch": {"queue": "dispatch"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No result backend: no task's result is read, so none is stored anywhere.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_TIMEZONE = "UTC"
# At most half the shortest probe interval (1 s): a tick that came late leaves a slot
# the next tick still claims in time.
PROBES_DISPATCH_SECONDS = env_seconds("PROBES_DISPATCH_SECONDS", 0.5)
if PROBES_DISPATCH_SECONDS > 0.5:
    raise ImproperlyConfigured(
        f"PROBES_DISPATCH_SECONDS={PROBES_DISPATCH_SECONDS:g}: expected at most 0.5 "
        "(half the shortest probe interval, 1 s), or slots of fast probes are skipped"
    )
CELERY_BEAT_SCHEDULE = {
    "maintenance-advance": {
        "task": "incidents.tasks.maintenance_advance",
        "schedule": env_int("MAINTENANCE_ADVANCE_SECONDS", 30),
    },
    # Twice a second: ticking once a second, jitter around the second's turn made a
    # tick claim two slots' worth of time at once, skipping one. A tick nobody took
    # within a minute (no worker reads "dispatch") is dropped unread: the queue
    # stays small, and the dispatch's age tells staff (monitoring_check, /metrics).
    "probes-dispatch": {
        "task": "probes.tasks.probes_dispatch",
        "schedule": PROBES_DISPATCH_SECONDS,
        "options": {"expires": 60},
    },
    "verdicts-enforce": {
        "task": "probes.tasks.verdicts_enforce",
        "schedule": env_int("VERDICTS_ENFORCE_SECONDS", 30),
    },
    "deliveries-sweep": {
        "task": "notifications.tasks.deliveries_sweep",
        # Often: it returns a dead worker's claims, and costs a few indexed queries.
        "schedule": env_int("DELIVERIES_SWEEP_SECONDS", 5),
    },
    # Re-confirms the snapshot even when nothing changes, so its age stays honest.
    "snapshot-refresh": {
        "task": "visitor.tasks.snapshot_publish",
        "schedule": env_int("SNAPSHOT_REFRESH_SECONDS", 60),
    },
    # Notices silent regions (they send nothing), holds what they fed, tells staff.
    "monitoring-sweep": {
        "task": "probes.tasks.monitoring_sweep",
        "schedule": env_int("MONITORING_SWEEP_SECONDS", 10),
        "options": {"expires": env_int("MONITORING_SWEEP_SECONDS", 10)},
    },
    "automatic-incidents-resolve": {
        "task": "probes.tasks.automatic_incidents_resolve",
        "schedule": env_int("AUTO_RESOLVE_CHECK_SECONDS", 15),
    },
    # Today's (and a late or back-dated day's) uptime record, and the hours' figures.
    "uptime-rollup": {
        "task": "uptime.tasks.uptime_rollup",
        "schedule": env_int("UPTIME_ROLLUP_SECONDS", 300),
        "options": {"expires": env_int("UPTIME_ROLLUP_SECONDS", 300)},
    },
    # Seals audit rows a process that died right after its commit left unsealed.
    "audit-seal": {
        "task": "audit.tasks.audit_seal",
        "schedule": env_int("AUDIT_SEAL_SECONDS", 60),
    },
    "audit-prune": {
        "task": "audit.tasks.audit_prune",
        "schedule": 24 * 3600,
        "options": {"expires": 3600},
    },
    "results-prune": {
        "task": "uptime.tasks.results_prune",
        "schedule": env_int("RESULTS_PRUNE_SECONDS", 3600),
        "options": {"expires": env_int("RESULTS_PRUNE_SECONDS", 3600)},
    },
}

# The published snapshot of the public page, API and feeds (visitor.snapshot).
SNAPSHOT_DIR = Path(env_str("SNAPSHOT_DIR") or VAR_DIR / "snapshot")
# Every publish also writes the whole public site here, for a static host or CDN.
SNAPSHOT_EXPORT_DIR = env_str("SNAPSHOT_EXPORT_DIR") or None
SNAPSHOT_REDIS_PREFIX = env_str("SNAPSHOT_REDIS_PREFIX") or "heliograph:snapshot:"
SNAPSHOT_REDIS_POLL_SECONDS = env_int("SNAPSHOT_REDIS_POLL_SECONDS", 1)
SNAPSHOT_MAX_AGE = env_int("SNAPSHOT_MAX_AGE", 5)
SNAPSHOT_STALE_WHILE_REVALIDATE = env_int("SNAPSHOT_STALE_WHILE_REVALIDATE", 30)
SNAPSHOT_STALE_IF_ERROR = env_int("SNAPSHOT_STALE_IF_ERROR", 86400)
# Older than this, pages say how old their information is.
SNAPSHOT_STALE_AFTER_SECONDS = env_int("SNAPSHOT_STALE_AFTER_SECONDS", 300)
# Changes within this wait after the first join its render.
SNAPSHOT_DEBOUNCE_MS = env_int("SNAPSHOT_DEBOUNCE_MS", 300)
# Two renders start at least this far apart, however fast changes come.
SNAPSHOT_MIN_INTERVAL_MS = env_int("SNAPSHOT_MIN_INTERVAL_MS", 1000)
SNAPSHOT_HISTORY_PAGES = env_int("SNAPSHOT_HISTORY_PAGES", 3)
# Incidents changed within this are rendered on every publish; others when all are.
SNAPSHOT_RECENT_SECONDS = env_int("SNAPSHOT_RECENT_SECONDS", 86400)
SNAPSHOT_FULL_RENDER_SECONDS = env_int("SNAPSHOT_FULL_RENDER_SECONDS", 3600)

# Probes: each region is a queue "probes.<region>" with workers placed in that network.
PROBE_REGIONS = env_list("PROBE_REGIONS", "local")
PROBE_BATCH_SIZE = env_int("PROBE_BATCH_SIZE", 50)
PROBE_CLAIM_LIMIT = env_int("PROBE_CLAIM_LIMIT", 5000)
PROBE_CONCURRENCY = env_int("PROBE_CONCURRENCY", 100)
# A batch still queued after this long is dropped unread: what a listed region
# without workers piles up. (Its slots are long too late by then; the runner drops
# those on the database's clock. Celery compares this with the region's own clock,
# so it must be far above any clock skew.)
PROBE_BATCH_EXPIRES_SECONDS = env_int("PROBE_BATCH_EXPIRES_SECONDS", 3600)
# Probes reach private and loopback targets, never link-local, multicast or cloud
# metadata addresses (kit/addresses.py) unless listed here (CIDRs, e.g.
# 169.254.10.0/24); a metadata address only by an entry of that one address.
PROBE_ALLOWED_NETWORKS = env_networks("PROBE_ALLOWED_NETWORKS")
# Journey credentials by name (PROBE_SECRET_<NAME>), read from the environment, and
# the hosts each may be sent to (PROBE_SECRET_<NAME>_HOSTS=login.acme.com,*.acme.com,
# 127.0.0.1:8001): a bare host is its scheme's default port, a leading "*." any
# subdomain (not the domain itself). A secret without its _HOSTS is sent nowhere.
# The web processes need the _HOSTS too: a probe is checked against them when saved.
_PROBE_HOST = re.compile(
    r"^(?:(?P<wild>\*\.)?(?P<name>[a-z0-9-]+(?:\.[a-z0-9-]+)*)|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?$"
)


def _probe_secret_hosts(variable: str, value: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower().rstrip(".") for h in value.split(",") if h.strip())
    for host in hosts:
        if not _probe_host_ok(host):
            raise ImproperlyConfigured(
                f"{variable}: {host!r} is not a host or host:port (e.g. "
                "login.acme.com, *.acme.com, 127.0.0.1:8001, [::1]:8001)"
            )
    return hosts


def _probe_host_ok(host: str) -> bool:
    match = _PROBE_HOST.match(host)
    if match is None or not 0 < int(match["port"] or 1) < 65536:
        return False
    # "*.com" or "*.0.0.1" would let the secret go to nearly anyone.
    name = match["name"] or ""
    return not match["wild"] or ("." in name and not name.replace(".", "").isdigit())


_PROBE_ENV = {
    name.removeprefix("PROBE_SECRET_"): value
    for name, value in os.environ.items()
    if name.startswith("PROBE_SECRET_")
}
PROBE_SECRETS = {n: v for n, v in _PROBE_ENV.items() if not n.endswith("_HOSTS")}
PROBE_SECRET_HOSTS = {
    name.removesuffix("_HOSTS"): _probe_secret_hosts(f"PROBE_SECRET_{name}", value)
    for name, value in _PROBE_ENV.items()
    if name.endswith("_HOSTS")
}
# A region without a result for this many of its probe's intervals (plus the
# timeout; at least PROBE_SILENT_MIN_SECONDS) is silent: its vote is unknown, and a
# feed with fewer speaking regions than its quorum holds its status, flagged
# "monitoring degraded", and opens or resolves no incident.
PROBE_SILENT_AFTER_INTERVALS = env_int("PROBE_SILENT_AFTER_INTERVALS", 3)
PROBE_SILENT_MIN_SECONDS = env_int("PROBE_SILENT_MIN_SECONDS", 30)
# A run that would start later than this many intervals after its slot (at least
# PROBE_LATE_MIN_SECONDS) is dropped and logged: after a backlog, slots are not run
# back to back. Results taken closer together than PROBE_STREAK_MIN_SPACING_PERCENT
# of the interval count once in a region's streaks, so hysteresis keeps its time.
PROBE_LATE_AFTER_INTERVALS = env_int("PROBE_LATE_AFTER_INTERVALS", 1)
PROBE_LATE_MIN_SECONDS = env_int("PROBE_LATE_MIN_SECONDS", 5)
PROBE_STREAK_MIN_SPACING_PERCENT = env_int("PROBE_STREAK_MIN_SPACING_PERCENT", 50)
# Region workers and the beat's monitoring tasks run on the database's time
# (probes.clock); a skew of their own clock beyond this is logged.
PROBE_CLOCK_TOLERANCE_SECONDS = env_seconds("PROBE_CLOCK_TOLERANCE_SECONDS", 1)
for _name in ("PROBE_SILENT_AFTER_INTERVALS", "PROBE_LATE_AFTER_INTERVALS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]}: expected 1 or more")
# Staff are told when monitoring becomes degraded and when it recovers (once per
# transition): by email to these addresses and/or a signed webhook to this URL.
STAFF_ALERT_EMAILS = env_list("STAFF_ALERT_EMAILS", "")
STAFF_ALERT_WEBHOOK_URL = env_str("STAFF_ALERT_WEBHOOK_URL", "") or ""
# Signs the staff webhook as subscribers' are (Standard Webhooks, "whsec_..."); the
# address policy of subscribers' webhooks (NOTIFICATIONS_ALLOW_PRIVATE_TARGETS) holds.
STAFF_ALERT_WEBHOOK_SECRET = env_str("STAFF_ALERT_WEBHOOK_SECRET", "") or ""
if STAFF_ALERT_WEBHOOK_URL and not STAFF_ALERT_WEBHOOK_SECRET:
    raise ImproperlyConfigured(
        "STAFF_ALERT_WEBHOOK_URL is set: set STAFF_ALERT_WEBHOOK_SECRET (or "
        "STAFF_ALERT_WEBHOOK_SECRET_FILE) too, e.g. whsec_ and 32 base64 bytes"
    )
# The console and `manage.py monitoring_check` call the beat stopped when its last
# dispatch is older than this.
BEAT_STALE_AFTER_SECONDS = env_int("BEAT_STALE_AFTER_SECONDS", 30)
FLAP_WINDOW_SECONDS = env_int("FLAP_WINDOW_SECONDS", 900)
FLAP_THRESHOLD = env_int("FLAP_THRESHOLD", 4)
AUTO_RESOLVE_AFTER_SECONDS = env_int("AUTO_RESOLVE_AFTER_SECONDS", 300)
# An automatic incident tells subscribers of components joining or recovering at
# most once per this many seconds (status changes always); 0 tells every update.
AUTOMATIC_NOTIFY_INTERVAL_SECONDS = env_int("AUTOMATIC_NOTIFY_INTERVAL_SECONDS", 300)
# Raw probe results are kept this many days, then pruned once rolled up (the uptime
# record keeps their days and hours). A week of a 60 s probe is about 1.9 MB; a
# year of its rollups about 2.6 MB (bench/uptime_history.py).
PROBE_RESULT_RETENTION_DAYS = env_int("PROBE_RESULT_RETENTION_DAYS", 7)
if PROBE_RESULT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured(
        f"PROBE_RESULT_RETENTION_DAYS={PROBE_RESULT_RETENTION_DAYS}: expected 1 or more"
    )

# The audit log keeps this many days (0: forever); older rows are pruned daily
# from the start of the chain, which still verifies.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 365)
if AUDIT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured(
        f"AUDIT_RETENTION_DAYS={AUDIT_RETENTION_DAYS}: expected 0 (keep forever) "
        "or more"
    )

# Email: SMTP by default (EMAIL_URL-style settings kept explicit).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
# With the file backend (as `make run` uses), each mail is written to this folder.
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "status@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Notifications
# Deliveries per send task: mail goes one message after another on one SMTP
# connection; a URL channel's batch is sent all at once, one connection each.
NOTIFICATIONS_BATCH_SIZE = env_int("NOTIFICATIONS_BATCH_SIZE", 200)
NOTIFICATIONS_URL_BATCH_SIZE = env_int("NOTIFICATIONS_URL_BATCH_SIZE", 1000)
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env_int("NOTIFICATIONS_SWEEP_GRACE_SECONDS", 60)
# A worker sending a batch refreshes its claims every NOTIFICATIONS_HEARTBEAT_SECONDS;
# a claim not refreshed for NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS is a dead worker's,
# and the next sweep (DELIVERIES_SWEEP_SECONDS) sends it again.
NOTIFICATIONS_HEARTBEAT_SECONDS = env_int("NOTIFICATIONS_HEARTBEAT_SECONDS", 2)
NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS = env_int("NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS", 10)
if not 0 < 2 * NOTIFICATIONS_HEARTBEAT_SECONDS < NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "NOTIFICATIONS_CLAIM_TIMEOUT_SECONDS must be more than twice "
        "NOTIFICATIONS_HEARTBEAT_SECONDS (and both above 0), or a live worker's "
        "claims would be taken for a dead one's"
    )
NOTIFICATIONS_QUARANTINE_FAILURES = env_int("NOTIFICATIONS_QUARANTINE_FAILURES", 10)
NOTIFICATIONS_CONFIRM_MAX_AGE_SECONDS = env_int(
    "NOTIFICATIONS_CONFIRM_MAX_AGE_SECONDS", 3 * 24 * 3600
)
# Confirmation mail per address, whatever asks for it (the public page, the API's
# create and resend_confirmation): at most one per interval and so many a day.
NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS = env_int(
    "NOTIFICATIONS_CONFIRM_INTERVAL_SECONDS", 300
)
NOTIFICATIONS_CONFIRM_PER_DAY = env_int("NOTIFICATIONS_CONFIRM_PER_DAY", 5)
NOTIFICATIONS_MESSAGE_ID_DOMAIN = env_str(
    "NOTIFICATIONS_MESSAGE_ID_DOMAIN", "heliograph"
)
NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS = env_int(
    "NOTIFICATIONS_WEBHOOK_TIMEOUT_SECONDS", 15
)
# Only for local development and tests: let webhooks reach private addresses.
NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = env_bool(
    "NOTIFICATIONS_ALLOW_PRIVATE_TARGETS", False
)
# Sign-ups per client address. Behind a proxy, name the header that carries the
# client's address (e.g. HTTP_X_REAL_IP), or every visitor shares the proxy's.
SUBSCRIBE_RATE = env_str("SUBSCRIBE_RATE", "10/h")

# --- Private pages (audience/) ---
# How long a viewer's pass (a signed cookie) lets them in, and a mailed sign-in link
# stays good; how many links an address gets an hour, and how many password tries
# or link requests one network address makes.
AUDIENCE_PASS_MAX_AGE_SECONDS = env_int("AUDIENCE_PASS_MAX_AGE_SECONDS", 12 * 3600)
AUDIENCE_LINK_MAX_AGE_SECONDS = env_int("AUDIENCE_LINK_MAX_AGE_SECONDS", 15 * 60)
AUDIENCE_LINKS_PER_ADDRESS = env_int("AUDIENCE_LINKS_PER_ADDRESS", 5)
AUDIENCE_RATE = env_str("AUDIENCE_RATE", "20/h")
RATELIMIT_IP_META_KEY = env_str("RATELIMIT_IP_META_KEY")

# The management API (no endpoint yet) takes API tokens only. The public API v2
# is plain Django views, so these defaults do not reach it.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tokens.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["access.api.TokenPermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["kit.api.throttling.TokenRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "kit.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kit.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # DRF's, refusing bodies nested past 64 levels with a 400.
        "kit.api.parsers.JSONParser",
        "kit.api.compat.BracketFormParser",
    ],
    "UNAUTHENTICATED_USER": None,
}
# Requests per token per minute on the management API (Statuspage allows 60).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 300)
SPECTACULAR_SETTINGS = {
    "TITLE": "Heliograph management API",
    # The description is kit.api.schema.GUIDE (a postprocessing hook).
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Form-encoded bodies are accepted for old scripts, but JSON is the API.
    "PARSER_WHITELIST": ["kit.api.parsers.JSONParser"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kit.api.schema.statuspage_paths",
        "kit.api.schema.error_responses",
        "kit.api.schema.introduction",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ComponentStatusEnum": "incidents.models.ComponentStatus",
        "IncidentStatusEnum": "incidents.models.IncidentStatus",
        "UpdateStatusEnum": "incidents.models.UPDATE_STATUS_CHOICES",
        "ImpactEnum": "incidents.models.Impact",
        "ChannelEnum": "notifications.models.Channel",
        "SubscriberStateEnum": "notifications.models.SubscriberState",
    },
}

# Who may read /metrics without an API token: addresses or networks, compared with
# the connection's address (REMOTE_ADDR). Behind a proxy that is the proxy's.
METRICS_ALLOWED_IPS = env_networks("METRICS_ALLOWED_IPS")

# --- Signing in (accounts/) ---
# django-allauth signs staff in: a password, then a TOTP code (or a recovery code)
# for those who have enrolled, or single sign-on with OpenID Connect. The console's
# own /admin/login/ sends everyone to the same flow, so nothing skips the second
# factor. django-axes throttles failed sign-ins in the database, which every web
# process shares (the embedded default has several and no Redis).
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
    "accounts",
]
MIDDLEWARE += [
    "allauth.account.middleware.AccountMiddleware",
    # A staff user whom the sign-in policy requires to have two-factor enrols first.
    "accounts.middleware.TwoFactorRequiredMiddleware",
    # The sign-in pages' forms may lead to the identity provider (CSP form-action).
    "accounts.middleware.SingleSignOnFormsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    # First: a locked-out account or address is refused before any password check.
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.AccountBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "admin:index"
# false: no password sign-in at all (the sign-in page offers single sign-on only,
# and the backend refuses every password); needs OIDC_SERVER_URL.
LOCAL_PASSWORDS = env_bool("LOCAL_PASSWORDS", True)

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.SignInForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# django-axes counts failed sign-ins (and wrong codes) in the database; allauth's
# own counters live in the cache, which is per process in the embedded default.
ACCOUNT_RATE_LIMITS = {"login": False, "login_failed": False}

MFA_FORMS = {"authenticate": "accounts.forms.CodeForm"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Heliograph"
MFA_RECOVERY_CODES_SHOW_ONCE = True

# Throttling: SIGNIN_ACCOUNT_FAILURE_LIMIT failures for one account (from any
# address), or SIGNIN_ADDRESS_FAILURE_LIMIT from one client address (for any
# accounts), lock that account or address out until SIGNIN_LOCKOUT_MINUTES pass
# without a failure. The client address is the one django-ratelimit uses
# (RATELIMIT_IP_META_KEY), so one setting serves both behind a proxy.
SIGNIN_ACCOUNT_FAILURE_LIMIT = env_int("SIGNIN_ACCOUNT_FAILURE_LIMIT", 5)
SIGNIN_ADDRESS_FAILURE_LIMIT = env_int("SIGNIN_ADDRESS_FAILURE_LIMIT", 20)
SIGNIN_LOCKOUT_MINUTES = env_int("SIGNIN_LOCKOUT_MINUTES", 15)
for _name in ("SIGNIN_ACCOUNT_FAILURE_LIMIT", "SIGNIN_ADDRESS_FAILURE_LIMIT"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]}: expected 1 or more")
if SIGNIN_LOCKOUT_MINUTES < 1:
    raise ImproperlyConfigured(
        f"SIGNIN_LOCKOUT_MINUTES={SIGNIN_LOCKOUT_MINUTES}: expected 1 or more"
    )
AXES_HANDLER = "accounts.throttling.SignInThrottle"
# accounts.throttling reads the two counts in this order.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_FAILURE_LIMIT = SIGNIN_ACCOUNT_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=SIGNIN_LOCKOUT_MINUTES)
# A success does not wipe the address's failures: one valid account would otherwise
# let an attacker reset the count for every other.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_CALLABLE = "accounts.throttling.client_username"
AXES_CLIENT_IP_CALLABLE = "kit.clients.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "code", "csrfmiddlewaretoken"]
AXES_VERBOSE = False
# Sign-ins are the audit log's to record; axes keeps only the failures it counts.
AXES_DISABLE_ACCESS_LOG = True

# Single sign-on with OpenID Connect: on with OIDC_SERVER_URL (the issuer). Each
# sign-in sets the user's roles and staff status from OIDC_ROLE_CLAIM through
# OIDC_ROLE_MAP (claim value:role,...); a user with no mapped role is refused.
_ROLES = ROLES


def _role_map(name: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in env_list(name):
        value, _, role = item.rpartition(":")
        if not value or role.strip() not in _ROLES:
            raise ImproperlyConfigured(
                f"{name}: {item!r} should be claim-value:role, with a role among "
                f"{', '.join(_ROLES)}"
            )
        mapping[value.strip()] = role.strip()
    return mapping


OIDC_SERVER_URL = env_str("OIDC_SERVER_URL") or ""
OIDC_ROLE_CLAIM = env_str("OIDC_ROLE_CLAIM") or "groups"
OIDC_ROLE_MAP = _role_map("OIDC_ROLE_MAP")
if not LOCAL_PASSWORDS and not OIDC_SERVER_URL:
    raise ImproperlyConfigured(
        "LOCAL_PASSWORDS=false needs single sign-on: set OIDC_SERVER_URL"
    )
if OIDC_SERVER_URL and not (
    env_str("OIDC_CLIENT_ID") and env_str("OIDC_CLIENT_SECRET")
):
    raise ImproperlyConfigured(
        "OIDC_SERVER_URL is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET "
        "(or OIDC_CLIENT_SECRET_FILE) too"
    )
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
# An SSO identity never takes over a local account that has the same address.
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": env_str("OIDC_PROVIDER_NAME") or "SSO",
                "client_id": env_str("OIDC_CLIENT_ID"),
                "secret": env_str("OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": OIDC_SERVER_URL,
                    "scope": env_list("OIDC_SCOPES", "openid,profile,email"),
                },
            }
        ]
        if OIDC_SERVER_URL
        else [],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # No token of a path in any line (kit.access).
    "filters": {"no_tokens": {"()": "kit.access.TokenFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["no_tokens"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Whatever LOG_LEVEL says: ACCESS_LOG turns it off.
    "loggers": {"heliograph.access": {"level": "INFO"}},
}
