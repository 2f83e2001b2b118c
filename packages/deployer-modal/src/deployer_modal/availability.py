"""Whether a Modal credential is configured, judged the way the modal client judges it.

Standard library only: the availability hook runs this while listing strategies, where
importing the SDK (0.4 s) is not allowed. Like modal's own config, each setting is taken from
its `MODAL_<SETTING>` environment variable first, then from the active profile of the config
file (`MODAL_CONFIG_PATH`, default `~/.modal.toml`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

TOKEN_KEYS = ("token_id", "token_secret")
OAUTH_KEYS = ("oauth_refresh_token", "oauth_client_id")
OAUTH_PROOF_KEYS = ("oauth_client_secret", "oauth_jwt_key")


def config_path() -> Path:
    return Path(os.environ.get("MODAL_CONFIG_PATH") or Path.home() / ".modal.toml").expanduser()


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    """The active profile: MODAL_PROFILE, else the one marked `active = true`, else default."""
    name = os.environ.get("MODAL_PROFILE")
    if not name:
        name = next((k for k, v in data.items() if isinstance(v, dict) and v.get("active")), None)
    section = data.get(name or "default")
    return section if isinstance(section, dict) else {}


def _read_profile() -> tuple[dict[str, Any], str | None]:
    """The active profile's settings, and a problem with the file if it cannot be read."""
    path = config_path()
    if not path.is_file():
        return {}, None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, f"Modal's config file {path} is unreadable: {exc}"
    return _profile(data), None


def configured() -> dict[str, str]:
    """Credential settings that are set, by modal's names (values included: keep in memory)."""
    profile, _ = _read_profile()
    found: dict[str, str] = {}
    for key in (*TOKEN_KEYS, *OAUTH_KEYS, *OAUTH_PROOF_KEYS):
        value = os.environ.get(f"MODAL_{key.upper()}") or profile.get(key)
        if value:
            found[key] = str(value)
    return found


def missing_credentials() -> str | None:
    """Why the modal client would have no credential, or None when it has one. Never raises."""
    try:
        _, problem = _read_profile()
        if problem:
            return problem
        found = configured()
    except Exception as exc:  # an availability check must never raise
        return f"could not check Modal's credentials: {type(exc).__name__}: {exc}"
    if all(key in found for key in TOKEN_KEYS):
        return None
    if all(key in found for key in OAUTH_KEYS) and any(k in found for k in OAUTH_PROOF_KEYS):
        return None
    half = [key for key in TOKEN_KEYS if key in found]
    if half:
        other = next(key for key in TOKEN_KEYS if key not in found)
        return (
            f"Modal token incomplete: {half[0]} is set but {other} is not (MODAL_{other.upper()})"
        )
    return (
        f"no Modal token: neither MODAL_TOKEN_ID/MODAL_TOKEN_SECRET nor {config_path()} "
        "provides one"
    )
