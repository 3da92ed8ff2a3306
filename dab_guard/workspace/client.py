"""Which workspace a target talks to, and a databricks-sdk client for it that cannot hang.

The workspace is chosen as the Databricks CLI chooses it: the target's ``workspace.host`` and ``workspace.profile``
(``--profile`` overrides the profile), a profile of ``~/.databrickscfg`` whose host matches, then the SDK's own chain
(``DATABRICKS_CONFIG_PROFILE``, ``DATABRICKS_HOST`` + ``DATABRICKS_TOKEN`` ...). Disagreements between these are
errors, never a silent choice.

databricks-sdk is imported inside :func:`build_client` only, so offline runs never load it.
"""

from __future__ import annotations

import configparser
import logging
import os
import re
import sys
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dab_guard import __version__
from dab_guard.bundle.resolve import Target, is_unknown

if TYPE_CHECKING:  # pragma: no cover
    from databricks.sdk import WorkspaceClient

# The whole online part of a run (client set-up, every request and its retries) fits in this many seconds unless
# DAB_GUARD_ONLINE_TIMEOUT says otherwise; the SDK's own defaults would allow 5 minutes per call.
DEFAULT_BUDGET_SECONDS = 20.0
BUDGET_ENV = "DAB_GUARD_ONLINE_TIMEOUT"

# (pattern, replacement): Databricks tokens, Authorization header values, and key=value pairs named like credentials.
_SECRET_PATTERNS = (
    (re.compile(r"dapi[0-9a-zA-Z-]{8,}"), "***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;'\"]+"), r"\1 ***"),
    (re.compile(r"(?i)\b(authorization|token|password|secret)(['\"]?\s*[:=]\s*['\"]?)[^\s,;'\"]+"), r"\1\2***"),
)


class WorkspaceError(Exception):
    """The workspace cannot be used for this run: reported as one line on stderr, exit status 2.

    The message is redacted when the error is made, so that no code path can print a credential through it.
    """

    def __init__(self, message: str, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(redact(message, secrets))


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` on one line, without credentials: known secret values and anything shaped like a token."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."


# The environment variables of databricks-sdk's credential attributes (its ``auth=`` ConfigAttributes). When one is
# set, the SDK authenticates with it, so a profile is not chosen by the target's host (the CLI behaves alike).
_AUTH_ENV = (
    "DATABRICKS_TOKEN",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_OIDC_TOKEN_ENV",
    "DATABRICKS_GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_CREDENTIALS",
    "DATABRICKS_AZURE_RESOURCE_ID",
    "ARM_USE_MSI",
    "ARM_CLIENT_SECRET",
    "ARM_CLIENT_ID",
    "ARM_TENANT_ID",
)


def known_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """The credential values this run could send, so that they can be masked wherever they might echo."""
    names = ("DATABRICKS_TOKEN", "DATABRICKS_PASSWORD", "DATABRICKS_CLIENT_SECRET", "ARM_CLIENT_SECRET", "GOOGLE_CREDENTIALS")
    return tuple(env[n] for n in names if env.get(n))


def normalize_host(host: str) -> str:
    """``adb-1.azuredatabricks.net/`` -> ``https://adb-1.azuredatabricks.net`` (scheme added, case and port 443 dropped)."""
    text = host.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urllib.parse.urlsplit(text)
    netloc = (parts.hostname or "").lower()
    if parts.port and parts.port != 443:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class Connection:
    """Where one target's workspace is and which profile authenticates to it. Holds no secret."""

    host: str
    profile: str | None = None

    @property
    def label(self) -> str:
        return f"{self.host} (profile {self.profile})" if self.profile else self.host


@dataclass
class Budget:
    """A deadline for the online part of a run."""

    seconds: float

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Budget:
        raw = env.get(BUDGET_ENV)
        if not raw:
            return cls(DEFAULT_BUDGET_SECONDS)
        try:
            seconds = float(raw)
        except ValueError:
            raise WorkspaceError(f"{BUDGET_ENV} must be a number of seconds, got {raw!r}") from None
        if not 0 < seconds <= 600:
            raise WorkspaceError(f"{BUDGET_ENV} must be between 0 and 600 seconds, got {raw!r}")
        return cls(seconds)


def _config_file(env: Mapping[str, str]) -> Path:
    return Path(env.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg").expanduser()


def _profile_hosts(env: Mapping[str, str]) -> dict[str, str | None]:
    """Profile name -> its normalized host, read from the CLI's configuration file (nothing else is read)."""
    path = _config_file(env)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return {}
    out: dict[str, str | None] = {}
    for name in ["DEFAULT", *parser.sections()]:
        section = parser.defaults() if name == "DEFAULT" else parser[name]
        if name == "DEFAULT" and not section:
            continue
        host = section.get("host")
        out[name] = normalize_host(host) if host else None
    return out


def _workspace_value(target: Target, key: str) -> str | None:
    workspace = target.config.get("workspace")
    value = workspace.get(key) if isinstance(workspace, dict) else None
    if value is None:
        return None
    if not isinstance(value, str) or is_unknown(value):
        raise WorkspaceError(f"target '{target.name}': workspace.{key} is not known without deploying ({value!r}); pass it with --var")
    return value


def connection_for(target: Target, profile_option: str | None, env: Mapping[str, str]) -> Connection:
    """The workspace of ``target``, or a WorkspaceError naming the disagreement."""
    target_host = _workspace_value(target, "host")
    host = normalize_host(target_host) if target_host else None
    profile = profile_option or _workspace_value(target, "profile") or env.get("DATABRICKS_CONFIG_PROFILE") or None
    env_host = normalize_host(env["DATABRICKS_HOST"]) if env.get("DATABRICKS_HOST") else None
    where = f"target '{target.name}'"
    if host and env_host and env_host != host:
        raise WorkspaceError(f"DATABRICKS_HOST is {env_host}, but {where} deploys to {host}; unset it or choose the matching target")
    profiles = _profile_hosts(env)
    if profile:
        if profile not in profiles:
            if host or env_host:
                # The SDK may still find the credentials elsewhere; it reports a missing profile itself.
                return Connection(host or env_host or "", profile)
            raise WorkspaceError(f"{where}: profile '{profile}' is not in {_config_file(env)}")
        profile_host = profiles[profile]
        if host and profile_host and profile_host != host:
            raise WorkspaceError(f"profile '{profile}' is for {profile_host}, but {where} deploys to {host}")
        if env_host and profile_host and env_host != profile_host:
            raise WorkspaceError(f"DATABRICKS_HOST is {env_host}, but profile '{profile}' is for {profile_host}")
        chosen = host or profile_host or env_host
        if not chosen:
            raise WorkspaceError(f"{where}: profile '{profile}' names no host")
        return Connection(chosen, profile)
    if host:
        if not any(env.get(name) for name in _AUTH_ENV):
            matching = [name for name, h in profiles.items() if h == host]
            if len(matching) > 1:
                raise WorkspaceError(f"several profiles match {host} ({', '.join(matching)}); choose one with --profile")
            if matching:
                return Connection(host, matching[0])
        return Connection(host)
    if env_host:
        return Connection(env_host)
    if profiles.get("DEFAULT"):
        return Connection(profiles["DEFAULT"] or "", "DEFAULT")
    raise WorkspaceError(f"{where} names no workspace: set workspace.host or workspace.profile, pass --profile, or set DATABRICKS_HOST")


def sdk_timeouts(budget: Budget) -> tuple[float, int]:
    """(HTTP timeout, retry budget) for the SDK, both within the run's budget.

    Every request of the SDK, its ``/.well-known/databricks-config`` probe included, is bounded by these two: each
    attempt waits at most the HTTP timeout, and retries stop after the retry budget.
    """
    share = max(1.0, budget.seconds / 2)
    return min(10.0, share), max(1, int(share))


def quiet_sdk_logs(verbose: bool) -> None:
    """The SDK logs (warnings included) only reach the terminal with ``--verbose``, and never with credentials."""
    sdk_logger = logging.getLogger("databricks.sdk")
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.addFilter(_RedactFilter())
        handler.setFormatter(logging.Formatter("dab-guard: sdk: %(message)s"))
        sdk_logger.handlers[:] = [handler]
        sdk_logger.setLevel(logging.DEBUG)
    else:
        sdk_logger.handlers[:] = [logging.NullHandler()]
        sdk_logger.setLevel(logging.CRITICAL + 1)
    sdk_logger.propagate = False


class _RedactFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), known_secrets(os.environ))
        record.args = None
        return True


def build_client(connection: Connection, budget: Budget, verbose: bool = False) -> WorkspaceClient:
    """A WorkspaceClient for ``connection``; credentials come from the SDK's own chain. May do one request (the probe)."""
    quiet_sdk_logs(verbose)
    try:
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.core import Config
    except ImportError:
        raise WorkspaceError("--online needs databricks-sdk, which installing dab-guard installs: pip install dab-guard") from None

    http_timeout, retry_timeout = sdk_timeouts(budget)
    options: dict[str, Any] = {
        "host": connection.host,
        "http_timeout_seconds": http_timeout,
        "retry_timeout_seconds": retry_timeout,
        "debug_headers": False,
        "product": "dab-guard",
        "product_version": __version__,
    }
    if connection.profile:
        options["profile"] = connection.profile
    try:
        config = Config(**options)
    except Exception as exc:  # the SDK raises ValueError for every configuration or authentication problem
        raise WorkspaceError(f"cannot authenticate to {connection.label}: {_first_line(exc)}", known_secrets(os.environ)) from None
    return WorkspaceClient(config=config)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
