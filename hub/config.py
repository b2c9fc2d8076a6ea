"""Settings: the one place that reads the environment.

Every knob is a ``HUB_*`` environment variable with a default that works on a
fresh machine (SQLite under ``./var``, development keys under ``./keys``).
``Settings`` is frozen and typed; the rest of the hub receives it, never
``os.environ``.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from hub.errors import ConfigError

__all__ = [
    "CITIZEN_ALGORITHMS",
    "MAX_WORKERS",
    "REGISTRY_FILE_KINDS",
    "TSA_FALLBACKS",
    "Environment",
    "Settings",
    "default_specs_dir",
    "secret_from_env",
]

Environment = Literal["development", "production", "test"]

_ENVIRONMENTS: tuple[Environment, ...] = ("development", "production", "test")

#: The most processes ``hub serve`` runs: each holds its own database pool.
MAX_WORKERS = 64
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
#: The longest a notification provider may take over one send (HUB_*_TIMEOUT).
_MAX_SEND_SECONDS = 300.0
#: The signature algorithms a citizen identity issuer may use; never HMAC or none.
CITIZEN_ALGORITHMS: tuple[str, ...] = ("ES256", "RS256", "EdDSA")
#: What HUB_TSA_FALLBACK may say: nothing, the development TSA, or a level without timestamp.
TSA_FALLBACKS: tuple[str, ...] = ("none", "development", "B-B")


def default_specs_dir() -> Path:
    """``specs/`` of the source checkout when running from one, else ``./specs``."""
    beside = Path(__file__).resolve().parent.parent / "specs"
    return beside if (beside / "hub.yaml").exists() else Path("specs")


def secret_from_env(name: str, env: Mapping[str, str] | None = None) -> str:
    """A secret an operator names by variable (``--passphrase-env VAR``), never on a command line.

    Command lines are visible to every user of the machine (``ps``) and kept in
    shell histories; an environment variable is not.
    """
    env = os.environ if env is None else env
    value = env.get(name)
    if value is None:
        raise ConfigError(f"the environment variable {name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from exc
    # Every such setting is a duration or a rate: nan and inf would pass
    # every later "> 0" check and then stall or spin a worker.
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, not {raw!r}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _user_password(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    raw = _optional(env, name)
    if raw is None:
        return None
    user, sep, password = raw.partition(":")
    if not sep or not user:
        raise ConfigError(f"{name} must be user:password")
    return user, password


def _paths(env: Mapping[str, str], name: str) -> tuple[Path, ...]:
    """A list of directories separated like ``PATH`` (``:`` here)."""
    return tuple(Path(item.strip()) for item in env.get(name, "").split(os.pathsep) if item.strip())


def _witnesses(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """``HUB_WITNESSES``: ``<vkey> <url>`` pairs separated by ``;`` or newlines."""
    found: list[tuple[str, str]] = []
    for item in env.get("HUB_WITNESSES", "").replace("\n", ";").split(";"):
        if not item.strip():
            continue
        parts = item.split()
        if len(parts) != 2:
            raise ConfigError(f"HUB_WITNESSES lists '<vkey> <url>' pairs, not {item.strip()!r}")
        found.append((parts[0], parts[1].rstrip("/")))
    return tuple(found)


def _optional_path(env: Mapping[str, str], name: str) -> Path | None:
    raw = _optional(env, name)
    return Path(raw) if raw else None


def _algorithms(env: Mapping[str, str]) -> tuple[str, ...]:
    raw = env.get("HUB_CITIZEN_ALGORITHMS", "")
    if not raw.strip():
        return CITIZEN_ALGORITHMS
    chosen = tuple(dict.fromkeys(a.strip() for a in raw.split(",") if a.strip()))
    unknown = [a for a in chosen if a not in CITIZEN_ALGORITHMS]
    if unknown or not chosen:
        raise ConfigError(
            f"HUB_CITIZEN_ALGORITHMS must list some of {', '.join(CITIZEN_ALGORITHMS)}, not {raw!r}"
        )
    return chosen


def _is_http_url(url: str) -> bool:
    scheme, sep, rest = url.partition("://")
    return bool(sep) and scheme in ("http", "https") and bool(rest) and " " not in url


def _registry_id(suffix: str) -> str:
    return suffix.lower().replace("_", "-")


#: Files that a registry's access needs, by the setting that names each one:
#: ``HUB_REGISTRY_<KIND>_<NAME>`` where NAME is the catalogue's ``credentials:``.
REGISTRY_FILE_KINDS = (
    "client_cert",
    "client_key",
    "ca_file",
    "signing_key",
    "signing_cert",
    "registry_cert",
)


def _registry_overrides(
    env: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """``HUB_REGISTRY_URL_<ID>`` and ``HUB_REGISTRY_CREDENTIALS_<ID>=user:password``."""
    urls: dict[str, str] = {}
    credentials: dict[str, tuple[str, str]] = {}
    for name, value in env.items():
        if name.startswith("HUB_REGISTRY_URL_") and value:
            urls[_registry_id(name.removeprefix("HUB_REGISTRY_URL_"))] = value
        elif name.startswith("HUB_REGISTRY_CREDENTIALS_") and value:
            user, sep, password = value.partition(":")
            if not sep or not user:
                raise ConfigError(f"{name} must be user:password")
            credentials[_registry_id(name.removeprefix("HUB_REGISTRY_CREDENTIALS_"))] = (
                user,
                password,
            )
    return urls, credentials


def _registry_access(
    env: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, dict[str, Path]]]:
    """``HUB_REGISTRY_SECRET_<NAME>`` (an API key) and the files of each registry's access."""
    secrets: dict[str, str] = {}
    files: dict[str, dict[str, Path]] = {}
    for name, value in env.items():
        if not value.strip():
            continue
        if name.startswith("HUB_REGISTRY_SECRET_"):
            secrets[_registry_id(name.removeprefix("HUB_REGISTRY_SECRET_"))] = value.strip()
            continue
        for kind in REGISTRY_FILE_KINDS:
            prefix = f"HUB_REGISTRY_{kind.upper()}_"
            if name.startswith(prefix):
                files.setdefault(_registry_id(name.removeprefix(prefix)), {})[kind] = Path(
                    value.strip()
                )
    return secrets, files


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _notify_settings(env: Mapping[str, str], d: Settings) -> dict[str, Any]:
    """The ``HUB_NOTIFY_*``, ``HUB_SMTP_*``, ``HUB_SMS_*`` and ``HUB_VIBER_*`` variables."""
    mode = env.get("HUB_ENV", "development")
    directory = _optional(env, "HUB_CONTACT_DIRECTORY") or (
        "none" if mode == "production" else d.contact_directory
    )
    return {
        "notify_workers": _int(env, "HUB_NOTIFY_WORKERS", d.notify_workers),
        "notify_poll_seconds": _float(env, "HUB_NOTIFY_POLL_SECONDS", d.notify_poll_seconds),
        "notify_batch": _int(env, "HUB_NOTIFY_BATCH", d.notify_batch),
        "notify_max_attempts": _int(env, "HUB_NOTIFY_MAX_ATTEMPTS", d.notify_max_attempts),
        "notify_backoff_seconds": _float(
            env, "HUB_NOTIFY_BACKOFF_SECONDS", d.notify_backoff_seconds
        ),
        "notify_backoff_max_seconds": _float(
            env, "HUB_NOTIFY_BACKOFF_MAX_SECONDS", d.notify_backoff_max_seconds
        ),
        "notify_lease_seconds": _float(env, "HUB_NOTIFY_LEASE_SECONDS", d.notify_lease_seconds),
        "notify_rate_email": _int(env, "HUB_NOTIFY_RATE_EMAIL", d.notify_rate_email),
        "notify_rate_sms": _int(env, "HUB_NOTIFY_RATE_SMS", d.notify_rate_sms),
        "notify_rate_viber": _int(env, "HUB_NOTIFY_RATE_VIBER", d.notify_rate_viber),
        "notify_digest_hour": _int(env, "HUB_NOTIFY_DIGEST_HOUR", d.notify_digest_hour),
        "notify_expiry_days": _int(env, "HUB_NOTIFY_EXPIRY_DAYS", d.notify_expiry_days),
        "notify_secret": _optional(env, "HUB_NOTIFY_SECRET"),
        "notify_callback_secret": _optional(env, "HUB_NOTIFY_CALLBACK_SECRET"),
        "contact_directory": directory,
        "smtp_host": _optional(env, "HUB_SMTP_HOST"),
        "smtp_port": _int(env, "HUB_SMTP_PORT", d.smtp_port),
        "smtp_starttls": _bool(env, "HUB_SMTP_STARTTLS", d.smtp_starttls),
        "smtp_user": _optional(env, "HUB_SMTP_USER"),
        "smtp_password": _optional(env, "HUB_SMTP_PASSWORD"),
        "smtp_from": _optional(env, "HUB_SMTP_FROM") or d.smtp_from,
        "smtp_timeout": _float(env, "HUB_SMTP_TIMEOUT", d.smtp_timeout),
        "sms_url": _optional(env, "HUB_SMS_URL"),
        "sms_token": _optional(env, "HUB_SMS_TOKEN"),
        "sms_sender": _optional(env, "HUB_SMS_SENDER") or d.sms_sender,
        "sms_timeout": _float(env, "HUB_SMS_TIMEOUT", d.sms_timeout),
        "viber_url": _optional(env, "HUB_VIBER_URL"),
        "viber_token": _optional(env, "HUB_VIBER_TOKEN"),
        "viber_sender": _optional(env, "HUB_VIBER_SENDER") or d.viber_sender,
        "viber_timeout": _float(env, "HUB_VIBER_TIMEOUT", d.viber_timeout),
        "sandbox_messages": Path(
            _optional(env, "HUB_SANDBOX_MESSAGES")
            or Path(env.get("HUB_VAR_DIR", "var")) / "sandbox-messages.db"
        ),
    }


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the hub needs to know about where and how it runs."""

    env: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    database_url: str = "sqlite:///var/hub.db"
    #: Where run-time state lives (the default SQLite file, the demo's address).
    var_dir: Path = Path("var")
    #: Whether HUB_PUBLIC_URL or HUB_PORT named the hub's address; if not,
    #: ``hub token`` mints for the running demo's address (hub/cli/_running.py).
    address_configured: bool = False
    keys_dir: Path = Path("keys")
    specs_dir: Path = field(default_factory=default_specs_dir)
    #: Catalogue directories merged over ``specs/catalog``, later ones winning
    #: (``HUB_CATALOG_DIRS``, separated by ``:``): how an operator adds
    #: registries, evidence types and purposes with files only.
    catalog_dirs: tuple[Path, ...] = ()
    keys_passphrase: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    max_body_bytes: int = 1_048_576
    access_token_ttl: int = 300
    registry_timeout: float = 5.0
    #: Calls in flight to one registry (its bulkhead); caps the catalogue's
    #: ``max_concurrency``. Keep the sum over registries below the server's
    #: 40 worker threads, so a stuck registry never holds them all.
    registry_max_in_flight: int = 8
    #: How long a call waits for a free slot before a 503 + Retry-After.
    registry_queue_wait: float = 0.05
    #: Consecutive failures (errors, timeouts, refusals for saturation) that open a circuit.
    registry_breaker_failures: int = 5
    #: Seconds an open circuit refuses calls before it lets one probe through.
    registry_breaker_pause: float = 10.0
    #: PEM certificates that https registries are checked against; None: the system's.
    registry_ca_file: Path | None = None
    sandbox_host: str = "127.0.0.1"
    sandbox_base_port: int = 8100
    sandbox_population: int = 10_000
    sandbox_seed: int = 20_26
    #: PAdES baseline level of sealed certificates: B-LT (signature timestamp,
    #: chain and CRLs embedded) outlives the seal key; B-LTA adds a document
    #: timestamp. B-B and B-T are kept for deployments without a TSA.
    pades_level: str = "B-LT"
    #: An RFC 3161 timestamp authority (HTTP); None: the development TSA key.
    tsa_url: str | None = None
    #: Basic authentication at the TSA (``user:password``) or a bearer token.
    tsa_credentials: tuple[str, str] | None = field(default=None, repr=False)
    tsa_token: str | None = field(default=None, repr=False)
    #: Seconds one timestamp request may take.
    tsa_timeout: float = 10.0
    #: When the TSA fails: "none" (issuance answers 503), "development" (the
    #: development TSA signs instead) or a lower level ("B-B"). Say so only
    #: where a document of that kind is acceptable.
    tsa_fallback: str = "none"
    verify_rate_limit: int = 60
    verify_rate_window: int = 60
    #: Token requests per minute per client address: each one checks a
    #: signature and writes a replay record, so it is limited like verification.
    token_rate_limit: int = 120
    checkpoint_every: int = 1000
    checkpoint_seconds: float = 60.0
    registry_urls: Mapping[str, str] = field(default_factory=dict)
    registry_credentials: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    #: Single secrets (API keys) by credentials name: ``HUB_REGISTRY_SECRET_<NAME>``.
    registry_secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: Files by credentials name and kind (client_cert, client_key, ca_file,
    #: signing_key, signing_cert, registry_cert): ``HUB_REGISTRY_CLIENT_CERT_<NAME>`` and so on.
    registry_files: Mapping[str, Mapping[str, Path]] = field(default_factory=dict)
    #: The citizens' OpenID Connect identity issuer; None: the hub's own
    #: development issuer (``<public_url>/dev-idp``), as before.
    citizen_issuer: str | None = None
    #: Its JWKS; None: the ``jwks_uri`` of its discovery document.
    citizen_jwks_url: str | None = None
    #: The hub's client at the issuer, for the web sign-in (authorization code + PKCE).
    citizen_client_id: str | None = None
    citizen_client_secret: str | None = field(default=None, repr=False)
    #: The ``aud`` of citizens' bearer ID tokens; None: the client id.
    citizen_audience: str | None = None
    #: The claim that carries the AFM (TaxisNet-style providers: ``taxid``).
    citizen_afm_claim: str = "afm"
    citizen_algorithms: tuple[str, ...] = CITIZEN_ALGORITHMS
    citizen_scopes: str = "openid"
    # -- notifications (docs/notifications.md) --
    #: Delivery worker threads inside ``hub serve``/``hub demo``; 0: none
    #: (run ``hub notifications work`` as a separate process instead).
    notify_workers: int = 1
    notify_poll_seconds: float = 1.0
    notify_batch: int = 50
    notify_max_attempts: int = 8
    notify_backoff_seconds: float = 5.0
    notify_backoff_max_seconds: float = 3600.0
    notify_lease_seconds: float = 60.0
    #: Messages per minute per channel, across every node.
    notify_rate_email: int = 600
    notify_rate_sms: int = 120
    notify_rate_viber: int = 120
    #: The UTC hour at which daily digests leave.
    notify_digest_hour: int = 6
    #: Days before a consent ends that its holder is told.
    notify_expiry_days: int = 7
    #: The HMAC key of one-time codes (shared by all nodes); None: one per process.
    notify_secret: str | None = field(default=None, repr=False)
    #: The key providers sign delivery receipts with; None: receipts are refused.
    notify_callback_secret: str | None = field(default=None, repr=False)
    #: Where contacts the hub does not hold come from: ``sandbox`` or ``none``.
    contact_directory: str = "sandbox"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "no-reply@oncehub.example.gr"
    #: The hard deadline of one send, connect to last reply, in seconds; a
    #: message's lease is held at least this long past the start of its send.
    smtp_timeout: float = 10.0
    sms_url: str | None = None
    sms_token: str | None = field(default=None, repr=False)
    sms_sender: str = "GOV.GR"
    sms_timeout: float = 10.0
    viber_url: str | None = None
    viber_token: str | None = field(default=None, repr=False)
    viber_sender: str = "GOV.GR"
    viber_timeout: float = 10.0
    #: Where the sandbox mail server and gateway keep what they receive.
    sandbox_messages: Path = Path("var/sandbox-messages.db")
    #: Certificates one citizen may ask for per window: each one is a PDF
    #: rendered and sealed, the most expensive thing a single caller can ask.
    certificate_rate_limit: int = 10
    certificate_rate_window: int = 60
    #: PDFs rendered and sealed at once, and issuances waiting for a turn;
    #: beyond both the hub answers 503 with Retry-After instead of queueing.
    #: Rendering holds the interpreter lock, so a second worker in one process
    #: adds little throughput and takes turns from the event loop: scale out
    #: with processes or nodes instead.
    certificate_workers: int = 1
    certificate_queue: int = 8
    #: Addresses (or CIDR networks) of the proxies whose X-Forwarded-For and
    #: X-Forwarded-Proto the hub believes; empty: it believes nobody.
    trusted_proxies: tuple[str, ...] = ()
    #: Seconds a connection may take to send its request headers.
    header_timeout: float = 10.0
    #: Seconds an idle keep-alive connection stays open.
    keep_alive_timeout: float = 5.0
    #: Open connections (and requests in flight) beyond which the hub answers 503.
    max_connections: int = 1000
    #: The bearer token ``/metrics`` wants; in production, it or a metrics address is needed.
    metrics_token: str | None = field(default=None, repr=False)
    #: ``host:port`` of a separate metrics listener; ``/metrics`` on the main port is then off.
    metrics_address: str | None = None
    #: Processes ``hub serve`` runs, sharing the listening socket and the
    #: database; ``None``: the usable cores in production, one elsewhere (a
    #: development server is debugged, and killed, as one process).
    workers: int | None = None
    #: Witnesses the hub submits its checkpoints to, as (vkey, submission URL)
    #: pairs: ``HUB_WITNESSES="<vkey> <url>; <vkey> <url>"``.
    witnesses: tuple[tuple[str, str], ...] = ()
    #: Cosignatures a checkpoint needs to be published as witnessed; 0: all.
    witness_quorum: int = 0
    #: Seconds between rounds of submissions while a witness owes a cosignature.
    witness_retry_seconds: float = 10.0
    #: Hosts an agency may register webhooks on (``*.example.gr`` for a domain);
    #: empty: any host with public addresses.
    webhook_allowed_hosts: tuple[str, ...] = ()
    #: Private networks (CIDR) webhooks may reach outside development, e.g. an
    #: agency's leased line; loopback and private addresses are refused otherwise.
    webhook_private_networks: tuple[str, ...] = ()
    #: The hard deadline of one delivery attempt, connection to last byte, in seconds.
    webhook_timeout: float = 10.0
    #: Attempts before a delivery is dead-lettered.
    webhook_max_attempts: int = 8
    #: The first retry's delay in seconds; each next one doubles, with jitter.
    webhook_backoff: float = 30.0
    #: How often the delivery worker looks for due deliveries, in seconds.
    webhook_poll_seconds: float = 2.0

    @property
    def catalog_dir(self) -> Path:
        return self.specs_dir / "catalog"

    @property
    def registries_dir(self) -> Path:
        return self.specs_dir / "registries"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``HUB_*`` variables; anything unset keeps its default."""
        env = os.environ if env is None else env
        mode = env.get("HUB_ENV", "development")
        if mode not in _ENVIRONMENTS:
            raise ConfigError(f"HUB_ENV must be one of {', '.join(_ENVIRONMENTS)}, not {mode!r}")
        level = env.get("HUB_LOG_LEVEL", "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ConfigError(f"HUB_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
        d = cls()  # The defaults, read from a plain instance (slots hide class values).
        host = env.get("HUB_HOST", d.host)
        port = _int(env, "HUB_PORT", d.port)
        var_dir = Path(env.get("HUB_VAR_DIR", "var"))
        default_db = "sqlite:///" + str(var_dir / "hub.db")
        urls, credentials = _registry_overrides(env)
        secrets, files = _registry_access(env)
        settings = cls(
            env=mode,  # checked against _ENVIRONMENTS above
            host=host,
            port=port,
            public_url=env.get("HUB_PUBLIC_URL", f"http://{host}:{port}").rstrip("/"),
            database_url=env.get("HUB_DATABASE_URL", default_db),
            var_dir=var_dir,
            address_configured="HUB_PUBLIC_URL" in env or "HUB_PORT" in env,
            keys_dir=Path(env.get("HUB_KEYS_DIR", "keys")),
            specs_dir=Path(env.get("HUB_SPECS_DIR") or d.specs_dir),
            catalog_dirs=_paths(env, "HUB_CATALOG_DIRS"),
            keys_passphrase=env.get("HUB_KEYS_PASSPHRASE") or None,
            log_level=level,
            max_body_bytes=_int(env, "HUB_MAX_BODY_BYTES", d.max_body_bytes),
            access_token_ttl=_int(env, "HUB_ACCESS_TOKEN_TTL", d.access_token_ttl),
            registry_timeout=_float(env, "HUB_REGISTRY_TIMEOUT", d.registry_timeout),
            registry_max_in_flight=_int(
                env, "HUB_REGISTRY_MAX_IN_FLIGHT", d.registry_max_in_flight
            ),
            registry_queue_wait=_float(env, "HUB_REGISTRY_QUEUE_WAIT", d.registry_queue_wait),
            registry_breaker_failures=_int(
                env, "HUB_REGISTRY_BREAKER_FAILURES", d.registry_breaker_failures
            ),
            registry_breaker_pause=_float(
                env, "HUB_REGISTRY_BREAKER_PAUSE", d.registry_breaker_pause
            ),
            registry_ca_file=_optional_path(env, "HUB_REGISTRY_CA_FILE"),
            sandbox_host=env.get("HUB_SANDBOX_HOST", d.sandbox_host),
            sandbox_base_port=_int(env, "HUB_SANDBOX_BASE_PORT", d.sandbox_base_port),
            sandbox_population=_int(env, "HUB_SANDBOX_POPULATION", d.sandbox_population),
            sandbox_seed=_int(env, "HUB_SANDBOX_SEED", d.sandbox_seed),
            pades_level=env.get("HUB_PADES_LEVEL", d.pades_level),
            tsa_url=_optional(env, "HUB_TSA_URL"),
            tsa_credentials=_user_password(env, "HUB_TSA_BASIC_AUTH"),
            tsa_token=_optional(env, "HUB_TSA_TOKEN"),
            tsa_timeout=_float(env, "HUB_TSA_TIMEOUT", d.tsa_timeout),
            tsa_fallback=env.get("HUB_TSA_FALLBACK", d.tsa_fallback).strip() or d.tsa_fallback,
            verify_rate_limit=_int(env, "HUB_VERIFY_RATE_LIMIT", d.verify_rate_limit),
            verify_rate_window=_int(env, "HUB_VERIFY_RATE_WINDOW", d.verify_rate_window),
            token_rate_limit=_int(env, "HUB_TOKEN_RATE_LIMIT", d.token_rate_limit),
            checkpoint_every=_int(env, "HUB_CHECKPOINT_EVERY", d.checkpoint_every),
            checkpoint_seconds=_float(env, "HUB_CHECKPOINT_SECONDS", d.checkpoint_seconds),
            registry_urls=urls,
            registry_credentials=credentials,
            registry_secrets=secrets,
            registry_files=files,
            citizen_issuer=(_optional(env, "HUB_CITIZEN_ISSUER") or "").rstrip("/") or None,
            citizen_jwks_url=_optional(env, "HUB_CITIZEN_JWKS_URL"),
            citizen_client_id=_optional(env, "HUB_CITIZEN_CLIENT_ID"),
            citizen_client_secret=_optional(env, "HUB_CITIZEN_CLIENT_SECRET"),
            citizen_audience=_optional(env, "HUB_CITIZEN_AUDIENCE"),
            citizen_afm_claim=_optional(env, "HUB_CITIZEN_AFM_CLAIM") or d.citizen_afm_claim,
            citizen_algorithms=_algorithms(env),
            citizen_scopes=_optional(env, "HUB_CITIZEN_SCOPES") or d.citizen_scopes,
            **_notify_settings(env, d),
            certificate_rate_limit=_int(
                env, "HUB_CERTIFICATE_RATE_LIMIT", d.certificate_rate_limit
            ),
            certificate_rate_window=_int(
                env, "HUB_CERTIFICATE_RATE_WINDOW", d.certificate_rate_window
            ),
            certificate_workers=_int(env, "HUB_CERTIFICATE_WORKERS", d.certificate_workers),
            certificate_queue=_int(env, "HUB_CERTIFICATE_QUEUE", d.certificate_queue),
            trusted_proxies=_list(env, "HUB_TRUSTED_PROXIES"),
            header_timeout=_float(env, "HUB_HEADER_TIMEOUT", d.header_timeout),
            keep_alive_timeout=_float(env, "HUB_KEEP_ALIVE_TIMEOUT", d.keep_alive_timeout),
            max_connections=_int(env, "HUB_MAX_CONNECTIONS", d.max_connections),
            metrics_token=_optional(env, "HUB_METRICS_TOKEN"),
            metrics_address=_optional(env, "HUB_METRICS_ADDRESS"),
            workers=_int(env, "HUB_WORKERS", 0) or None,
            witnesses=_witnesses(env),
            witness_quorum=_int(env, "HUB_WITNESS_QUORUM", d.witness_quorum),
            witness_retry_seconds=_float(env, "HUB_WITNESS_RETRY_SECONDS", d.witness_retry_seconds),
            webhook_allowed_hosts=_list(env, "HUB_WEBHOOK_ALLOWED_HOSTS"),
            webhook_private_networks=_list(env, "HUB_WEBHOOK_PRIVATE_NETWORKS"),
            webhook_timeout=_float(env, "HUB_WEBHOOK_TIMEOUT", d.webhook_timeout),
            webhook_max_attempts=_int(env, "HUB_WEBHOOK_MAX_ATTEMPTS", d.webhook_max_attempts),
            webhook_backoff=_float(env, "HUB_WEBHOOK_BACKOFF", d.webhook_backoff),
            webhook_poll_seconds=_float(env, "HUB_WEBHOOK_POLL_SECONDS", d.webhook_poll_seconds),
        )
        settings.check()
        return settings

    @classmethod
    def for_tests(cls, tmp: Path, **overrides: object) -> Settings:
        """Settings isolated under ``tmp``; the database URL may be overridden."""
        base = cls(
            env="test",
            database_url=f"sqlite:///{tmp / 'hub.db'}",
            var_dir=tmp / "var",
            keys_dir=tmp / "keys",
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    def check(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"HUB_PORT must be a TCP port, not {self.port}")
        if self.max_body_bytes < 1024:
            raise ConfigError("HUB_MAX_BODY_BYTES must be at least 1024")
        if self.access_token_ttl <= 0 or self.access_token_ttl > 3600:
            raise ConfigError("HUB_ACCESS_TOKEN_TTL must be between 1 and 3600 seconds")
        if self.pades_level not in ("B-B", "B-T", "B-LT", "B-LTA"):
            raise ConfigError("HUB_PADES_LEVEL must be B-B, B-T, B-LT or B-LTA")
        if self.verify_rate_limit < 1 or self.verify_rate_window < 1:
            raise ConfigError("HUB_VERIFY_RATE_LIMIT and HUB_VERIFY_RATE_WINDOW must be >= 1")
        if self.token_rate_limit < 1:
            raise ConfigError("HUB_TOKEN_RATE_LIMIT must be >= 1")
        if self.checkpoint_every < 1 or self.checkpoint_seconds <= 0:
            raise ConfigError("HUB_CHECKPOINT_EVERY must be >= 1 and HUB_CHECKPOINT_SECONDS > 0")
        if self.registry_timeout <= 0:
            raise ConfigError("HUB_REGISTRY_TIMEOUT must be positive")
        for folder in self.catalog_dirs:
            if not folder.is_dir():
                raise ConfigError(f"HUB_CATALOG_DIRS names no directory: {folder}")
        self._check_registry_limits()
        self._check_tsa()
        self._check_citizen_issuer()
        self._check_notifications()

    def _check_notifications(self) -> None:
        if self.notify_workers < 0 or self.notify_batch < 1 or self.notify_max_attempts < 1:
            raise ConfigError(
                "HUB_NOTIFY_WORKERS must be >= 0, HUB_NOTIFY_BATCH and HUB_NOTIFY_MAX_ATTEMPTS >= 1"
            )
        if (
            min(self.notify_poll_seconds, self.notify_backoff_seconds, self.notify_lease_seconds)
            <= 0
        ):
            raise ConfigError("the HUB_NOTIFY_* durations must be positive")
        if min(self.notify_rate_email, self.notify_rate_sms, self.notify_rate_viber) < 1:
            raise ConfigError("HUB_NOTIFY_RATE_* must be >= 1 message per minute")
        if not 0 <= self.notify_digest_hour <= 23:
            raise ConfigError("HUB_NOTIFY_DIGEST_HOUR must be an hour, 0 to 23")
        if self.contact_directory not in ("sandbox", "none"):
            raise ConfigError("HUB_CONTACT_DIRECTORY must be sandbox or none")
        if self.is_production and self.contact_directory == "sandbox":
            raise ConfigError("HUB_CONTACT_DIRECTORY=sandbox invents contacts; not in production")
        for name, url in (("HUB_SMS_URL", self.sms_url), ("HUB_VIBER_URL", self.viber_url)):
            if url is not None and not _is_http_url(url):
                raise ConfigError(f"{name} must be an http(s) URL")
            if url is not None and self.is_production and not url.startswith("https://"):
                raise ConfigError(f"{name} must be an https URL in production")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError("HUB_SMTP_PORT must be a TCP port")
        for name, seconds in (
            ("HUB_SMTP_TIMEOUT", self.smtp_timeout),
            ("HUB_SMS_TIMEOUT", self.sms_timeout),
            ("HUB_VIBER_TIMEOUT", self.viber_timeout),
        ):
            # A message's lease is held past its send's deadline: an endless
            # deadline would keep a crashed worker's message from every other.
            if not 0 < seconds <= _MAX_SEND_SECONDS:
                raise ConfigError(
                    f"{name} must be more than 0 and at most {_MAX_SEND_SECONDS:g} seconds"
                )
        self._check_abuse_limits()
        self._check_webhooks()
        self._check_witnesses()

    @property
    def effective_witness_quorum(self) -> int:
        """The cosignatures a checkpoint needs: the quorum, or every witness."""
        return self.witness_quorum or len(self.witnesses)

    def _check_witnesses(self) -> None:
        # Imported here: the domain's key parser, not a reader of the environment.
        from hub.domain.auditlog.errors import MalformedKey  # noqa: PLC0415
        from hub.domain.auditlog.witness import parse_cosigner_verifier  # noqa: PLC0415

        names: set[str] = set()
        for vkey, url in self.witnesses:
            try:
                name = parse_cosigner_verifier(vkey).name
            except MalformedKey as exc:
                raise ConfigError(f"HUB_WITNESSES: {exc.detail} in {vkey!r}") from exc
            if name in names:
                raise ConfigError(f"HUB_WITNESSES names the witness {name} twice")
            names.add(name)
            if not _is_http_url(url):
                raise ConfigError(f"HUB_WITNESSES: {url!r} is not an http(s) URL")
        if not 0 <= self.witness_quorum <= len(self.witnesses):
            raise ConfigError(
                "HUB_WITNESS_QUORUM must be between 0 (all) and the witnesses' number"
            )
        if self.witness_retry_seconds <= 0:
            raise ConfigError("HUB_WITNESS_RETRY_SECONDS must be positive")

    def _check_tsa(self) -> None:
        if self.tsa_fallback not in TSA_FALLBACKS:
            raise ConfigError(f"HUB_TSA_FALLBACK must be one of {', '.join(TSA_FALLBACKS)}")
        if self.tsa_timeout <= 0:
            raise ConfigError("HUB_TSA_TIMEOUT must be positive")
        if self.tsa_url is None:
            if self.tsa_credentials or self.tsa_token:
                raise ConfigError("HUB_TSA_BASIC_AUTH and HUB_TSA_TOKEN need HUB_TSA_URL")
            return
        if not _is_http_url(self.tsa_url):
            raise ConfigError(f"HUB_TSA_URL must be an http(s) URL, not {self.tsa_url!r}")
        if self.tsa_credentials and self.tsa_token:
            raise ConfigError("HUB_TSA_BASIC_AUTH and HUB_TSA_TOKEN: give one, not both")

    def _check_abuse_limits(self) -> None:
        if self.certificate_rate_limit < 1 or self.certificate_rate_window < 1:
            raise ConfigError(
                "HUB_CERTIFICATE_RATE_LIMIT and HUB_CERTIFICATE_RATE_WINDOW must be >= 1"
            )
        if self.certificate_workers < 1 or self.certificate_queue < 0:
            raise ConfigError("HUB_CERTIFICATE_WORKERS must be >= 1 and HUB_CERTIFICATE_QUEUE >= 0")
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError as exc:
                raise ConfigError(
                    f"HUB_TRUSTED_PROXIES lists addresses or networks, not {proxy!r}"
                ) from exc
        if self.header_timeout <= 0 or self.keep_alive_timeout <= 0:
            raise ConfigError("HUB_HEADER_TIMEOUT and HUB_KEEP_ALIVE_TIMEOUT must be positive")
        if self.max_connections < 1:
            raise ConfigError("HUB_MAX_CONNECTIONS must be >= 1")
        if self.workers is not None and not 1 <= self.workers <= MAX_WORKERS:
            raise ConfigError(f"HUB_WORKERS must be between 1 and {MAX_WORKERS}")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise ConfigError("HUB_METRICS_TOKEN must be at least 16 characters")
        if self.metrics_address is not None:
            host, sep, port = self.metrics_address.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ConfigError(
                    f"HUB_METRICS_ADDRESS must be host:port, not {self.metrics_address!r}"
                )

    @property
    def worker_count(self) -> int:
        """How many processes ``hub serve`` runs (``HUB_WORKERS`` or the default)."""
        if self.workers is not None:
            return self.workers
        if not self.is_production:
            return 1
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)

    @property
    def metrics_listener(self) -> tuple[str, int] | None:
        """Where the separate metrics listener binds, if one is configured."""
        if self.metrics_address is None:
            return None
        host, _, port = self.metrics_address.rpartition(":")
        return host.strip("[]"), int(port)

    def _check_registry_limits(self) -> None:
        if self.registry_max_in_flight < 1:
            raise ConfigError("HUB_REGISTRY_MAX_IN_FLIGHT must be >= 1")
        if not 0 <= self.registry_queue_wait < self.registry_timeout:
            raise ConfigError(
                "HUB_REGISTRY_QUEUE_WAIT must be >= 0 and shorter than HUB_REGISTRY_TIMEOUT"
            )
        if self.registry_breaker_failures < 1 or self.registry_breaker_pause <= 0:
            raise ConfigError(
                "HUB_REGISTRY_BREAKER_FAILURES must be >= 1 and HUB_REGISTRY_BREAKER_PAUSE > 0"
            )
        if self.registry_ca_file is not None and not self.registry_ca_file.is_file():
            raise ConfigError(f"HUB_REGISTRY_CA_FILE names no file: {self.registry_ca_file}")
        for name, files in self.registry_files.items():
            for kind, path in files.items():
                if not path.is_file():
                    setting = f"HUB_REGISTRY_{kind.upper()}_{name.upper().replace('-', '_')}"
                    raise ConfigError(f"{setting} names no file: {path}")

    def _check_webhooks(self) -> None:
        if not 0 < self.webhook_timeout <= 60:
            raise ConfigError("HUB_WEBHOOK_TIMEOUT must be between 0 and 60 seconds")
        if not 1 <= self.webhook_max_attempts <= 50:
            raise ConfigError("HUB_WEBHOOK_MAX_ATTEMPTS must be between 1 and 50")
        if self.webhook_backoff <= 0 or self.webhook_poll_seconds <= 0:
            raise ConfigError("HUB_WEBHOOK_BACKOFF and HUB_WEBHOOK_POLL_SECONDS must be positive")
        for network in self.webhook_private_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ConfigError(
                    f"HUB_WEBHOOK_PRIVATE_NETWORKS: {network!r} is not a CIDR network"
                ) from exc
        for host in self.webhook_allowed_hosts:
            bare = host.removeprefix("*.")
            if not bare or "/" in bare or ":" in bare or " " in bare:
                raise ConfigError(f"HUB_WEBHOOK_ALLOWED_HOSTS: {host!r} is not a host name")

    def _check_citizen_issuer(self) -> None:
        issuer = self.citizen_issuer
        if issuer is None:
            if self.citizen_client_id or self.citizen_jwks_url or self.citizen_audience:
                raise ConfigError(
                    "HUB_CITIZEN_CLIENT_ID, HUB_CITIZEN_JWKS_URL and HUB_CITIZEN_AUDIENCE "
                    "need HUB_CITIZEN_ISSUER"
                )
            return
        for name, url in (
            ("HUB_CITIZEN_ISSUER", issuer),
            ("HUB_CITIZEN_JWKS_URL", self.citizen_jwks_url),
        ):
            if url is None:
                continue
            if not _is_http_url(url):
                raise ConfigError(f"{name} must be an http(s) URL, not {url!r}")
            # Keys and ID tokens fetched over plain HTTP could be swapped on the way.
            if self.is_production and not url.startswith("https://"):
                raise ConfigError(f"{name} must be an https URL in production")
        if self.citizen_client_id is None and self.citizen_audience is None:
            raise ConfigError(
                "HUB_CITIZEN_ISSUER needs HUB_CITIZEN_CLIENT_ID (web sign-in) "
                "or at least HUB_CITIZEN_AUDIENCE (bearer tokens only)"
            )
        if self.citizen_client_id is not None and not self.citizen_client_secret:
            raise ConfigError("HUB_CITIZEN_CLIENT_ID needs HUB_CITIZEN_CLIENT_SECRET")
        if "openid" not in self.citizen_scopes.split():
            raise ConfigError("HUB_CITIZEN_SCOPES must include openid")
        claim = self.citizen_afm_claim
        if not claim or len(claim) > 64 or not claim.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"HUB_CITIZEN_AFM_CLAIM is not a claim name: {claim!r}")
        if not self.citizen_algorithms or any(
            a not in CITIZEN_ALGORITHMS for a in self.citizen_algorithms
        ):
            raise ConfigError(
                f"HUB_CITIZEN_ALGORITHMS must list some of {', '.join(CITIZEN_ALGORITHMS)}"
            )
