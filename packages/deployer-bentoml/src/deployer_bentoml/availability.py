"""Is there a BentoCloud login here? Answered from files and environment variables only.

Mirrors where bentoml itself looks (bentoml._internal.cloud.config): the `BENTO_CLOUD_API_KEY`
environment variable first, then the current context in `$BENTOML_HOME/.yatai.yaml` (written by
`bentoml cloud login`). Never imports bentoml, so availability checks stay instant.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LOGIN_HINT = (
    "log in with `bentoml cloud login` (or set BENTO_CLOUD_API_KEY), "
    "or deploy locally with --option target=local"
)


@dataclass(frozen=True)
class Login:
    found: bool
    source: str = ""
    reason: str = ""
    hint: str = ""


def bentoml_home() -> Path:
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml").expanduser()


def cloud_config_path() -> Path:
    return bentoml_home() / ".yatai.yaml"


def find_login() -> Login:
    """Where the BentoCloud credentials would come from, or why there are none. Never raises."""
    if os.environ.get("BENTO_CLOUD_API_KEY"):
        return Login(True, source="BENTO_CLOUD_API_KEY")
    path = cloud_config_path()
    missing = Login(
        False,
        reason=f"no BentoCloud login: BENTO_CLOUD_API_KEY is not set and {path} has no "
        "current context with an API token",
        hint=LOGIN_HINT,
    )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return missing
    try:
        import yaml  # deployer-core's own dependency, not the platform SDK

        data = yaml.safe_load(text)
    except Exception:
        return Login(
            False, reason=f"no BentoCloud login: {path} is not valid YAML", hint=LOGIN_HINT
        )
    if not isinstance(data, dict):
        return missing
    current = data.get("current_context_name") or "default"
    for context in data.get("contexts") or []:
        named = isinstance(context, dict) and context.get("name") == current
        if named and context.get("api_token"):
            return Login(True, source=f"{path} (context {current})")
    return missing
