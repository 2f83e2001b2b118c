"""The one door to a language model: a small wrapper around litellm.

litellm is imported only when a call is actually made (importing it costs seconds), so
nothing here may import it at module level. Every provider failure (timeout, rate limit,
authentication, server error, malformed reply) comes out as `LLMError`, a `DeployerError`
with a `kind`, never as a litellm or openai exception.

Configuration, in the order it wins:
- the model: an explicit argument (`--model`, `DeployConfig.llm_model`), else
  `DEPLOYER_LLM_MODEL`. Any litellm model string ("openai/gpt-4o-mini", "ollama/llama3", ...).
- `api_base` and the key: an explicit argument, else `DEPLOYER_LLM_API_BASE` /
  `DEPLOYER_LLM_API_KEY`, else litellm's usual settings (`OPENAI_API_BASE`, `OPENAI_API_KEY`,
  `ANTHROPIC_API_KEY`, ...).
- `DEPLOYER_LLM_TIMEOUT` (seconds per request, default 60), `DEPLOYER_LLM_RETRIES` (extra
  attempts after a timeout, rate limit, connection or 5xx error, default 2),
  `DEPLOYER_LLM_JSON_MODE` (`1` to ask for JSON mode, `0` never; by default it is requested
  only from models that litellm knows support it).

Secrets: every message is passed through `redact()` with the deployment's secret values before
it leaves the process, so a value from `DeployConfig.env` can never reach a provider, even if
it sits in a file of the repository; replies are redacted the same way before they are used.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from deployer.environ import env_float, env_int
from deployer.errors import DeployerError, ExtraNotInstalledError

MODEL_ENV = "DEPLOYER_LLM_MODEL"
DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 2
MIN_SECRET_LENGTH = 4  # shorter values ("1", "on") are not secrets worth hiding, and are everywhere
REDACTED = "[redacted]"

LLMErrorKind = Literal[
    "timeout", "rate_limit", "auth", "server", "connection", "bad_request", "not_installed", "other"
]


class LLMError(DeployerError):
    """A language-model call failed; `kind` says how (the selector falls back on any kind)."""

    exit_code = 5

    def __init__(self, message: str, hint: str | None = None, kind: LLMErrorKind = "other"):
        super().__init__(message, hint)
        self.kind = kind


def configured_model(explicit: str | None = None) -> str | None:
    """The model to use: the explicit one, else DEPLOYER_LLM_MODEL, else None (offline)."""
    model = (explicit if explicit is not None else os.environ.get(MODEL_ENV, "")).strip()
    return model or None


def secret_values(env: dict[str, str] | Iterable[str] | None) -> list[str]:
    """The values worth redacting, longest first (so a secret containing another is hidden)."""
    values = env.values() if isinstance(env, dict) else (env or [])
    unique = {str(v) for v in values if v is not None and len(str(v)) >= MIN_SECRET_LENGTH}
    return sorted(unique, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value and value in text:
            text = text.replace(value, REDACTED)
    return text


def litellm_installed() -> bool:
    """Whether litellm can be imported, without importing it."""
    from deployer.modules import module_installed

    return module_installed("litellm")


LLM_EXTRA_HINT = 'pip install "deployer-core[llm]"'


def require_litellm(model: str) -> None:
    """Fail at once, in one line, when a model is asked for and litellm is not installed
    (it is the optional extra `deployer-core[llm]`: everything offline works without it)."""
    if not litellm_installed():
        raise ExtraNotInstalledError(
            f"the model {model!r} was asked for, but the LLM extra (litellm) is not installed",
            hint=LLM_EXTRA_HINT,
        )


_LITELLM: Any = None


def import_litellm() -> Any:
    """Import litellm once, configured to stay quiet and offline where it can.

    litellm fetches its model cost map from the internet at import unless told otherwise; we
    default it to the bundled copy (a user who sets the variables keeps their choice)."""
    global _LITELLM
    if _LITELLM is not None:
        return _LITELLM
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError as exc:
        raise ExtraNotInstalledError(
            f"the LLM extra (litellm) is not installed ({exc})", hint=LLM_EXTRA_HINT
        ) from None
    litellm.suppress_debug_info = True
    litellm.turn_off_message_logging = True  # prompts never reach litellm's loggers/callbacks
    _LITELLM = litellm
    return litellm


@dataclass
class LLMReply:
    content: str
    model: str
    attempts: int
    seconds: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class LLMClient:
    """Chat completions through litellm, with deployer's retries, timeouts and error mapping."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout: float = field(default_factory=lambda: env_float("DEPLOYER_LLM_TIMEOUT", 60.0))
    retries: int = field(default_factory=lambda: env_int("DEPLOYER_LLM_RETRIES", DEFAULT_RETRIES))
    json_mode: bool | None = None
    secrets: list[str] = field(default_factory=list, repr=False)
    log: Callable[[str], None] | None = field(default=None, repr=False)
    backoff: float = 0.5

    def __post_init__(self) -> None:
        self.api_base = self.api_base or os.environ.get("DEPLOYER_LLM_API_BASE") or None
        self.api_key = self.api_key or os.environ.get("DEPLOYER_LLM_API_KEY") or None
        if self.json_mode is None:
            flag = os.environ.get("DEPLOYER_LLM_JSON_MODE", "").strip().lower()
            if flag in {"1", "true", "yes", "on"}:
                self.json_mode = True
            elif flag in {"0", "false", "no", "off"}:
                self.json_mode = False
        self.retries = max(0, self.retries)

    def _wants_json_mode(self, litellm: Any, wanted: bool) -> bool:
        if not wanted or self.json_mode is False:
            return False
        if self.json_mode:
            return True
        try:  # only models litellm knows to support it: plain JSON content works everywhere
            return bool(litellm.supports_response_schema(model=self.model))
        except Exception:
            return False

    def complete(self, messages: list[dict[str, str]], *, json_answer: bool = False) -> LLMReply:
        """One chat completion. Retries timeouts, rate limits, connection and 5xx errors."""
        litellm = import_litellm()
        safe = [{**m, "content": redact(m["content"], self.secrets)} for m in messages]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": safe,
            "timeout": self.timeout,
            "num_retries": 0,  # retries are ours: litellm's need tenacity and hide attempts
            "max_retries": 0,  # and the openai client's own
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self._wants_json_mode(litellm, json_answer):
            kwargs["response_format"] = {"type": "json_object"}
        start = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                with warnings.catch_warnings():  # litellm's pydantic noise on malformed replies
                    warnings.simplefilter("ignore")
                    response = litellm.completion(**kwargs)
                break
            except Exception as exc:
                error = map_error(exc, self.model, self.timeout)
                retryable = error.kind in {"timeout", "rate_limit", "server", "connection"}
                self._log(f"attempt {attempt} failed: {error.message}")
                if not retryable or attempt > self.retries:
                    if attempt > 1:
                        error.message += f" (after {attempt} attempts)"
                    raise error from None
                time.sleep(self.backoff * 2 ** (attempt - 1))
        try:  # redacted too: the reply ends up in reasoning, logs and the state store
            content = redact(response.choices[0].message.content or "", self.secrets)
        except (AttributeError, IndexError, TypeError):
            raise LLMError(
                f"{self.model} returned a reply without a message", kind="bad_request"
            ) from None
        usage = getattr(response, "usage", None)
        reply = LLMReply(
            content=content,
            model=self.model,
            attempts=attempt,
            seconds=time.perf_counter() - start,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
        )
        self._log(
            f"{self.model} answered in {reply.seconds:.2f}s ({attempt} attempt(s), "
            f"{reply.prompt_tokens} prompt tokens, {reply.completion_tokens} completion tokens)"
        )
        return reply

    def _log(self, line: str) -> None:
        if self.log is not None:
            self.log(redact(line, self.secrets))


def _first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def map_error(exc: BaseException, model: str, timeout: float) -> LLMError:
    """A litellm (or openai, or httpx) exception as an LLMError with a kind and a hint."""
    if isinstance(exc, LLMError):
        return exc
    litellm = _LITELLM
    errors = getattr(litellm, "exceptions", None)
    status = getattr(exc, "status_code", None)

    def isa(*names: str) -> bool:
        types = tuple(t for n in names if isinstance(t := getattr(errors, n, None), type))
        return bool(types) and isinstance(exc, types)

    detail = _first_line(exc)
    if isa("Timeout") or status == 408:
        return LLMError(
            f"{model} did not answer within {timeout:g}s",
            hint="raise DEPLOYER_LLM_TIMEOUT or check the provider",
            kind="timeout",
        )
    no_key = re.search(
        r"missing credentials|api_key client option must be set|no api key", detail, re.I
    )
    if isa("AuthenticationError", "PermissionDeniedError") or status in {401, 403} or no_key:
        return LLMError(
            f"{model}: authentication failed ({detail})",
            hint="check the provider's API key (e.g. OPENAI_API_KEY, ANTHROPIC_API_KEY)",
            kind="auth",
        )
    if isa("RateLimitError") or status == 429:
        return LLMError(f"{model}: rate limited ({detail})", kind="rate_limit")
    if isa("APIConnectionError"):
        return LLMError(
            f"{model}: cannot reach the provider ({detail})",
            hint="check the network or api_base (DEPLOYER_LLM_API_BASE / OPENAI_API_BASE)",
            kind="connection",
        )
    if (isinstance(status, int) and status >= 500) or isa(
        "InternalServerError", "ServiceUnavailableError", "BadGatewayError"
    ):
        return LLMError(f"{model}: provider error ({detail})", kind="server")
    if isa("BadRequestError", "NotFoundError", "UnprocessableEntityError") or isinstance(
        status, int
    ):
        return LLMError(
            f"{model}: request rejected ({detail})",
            hint="check the model name: any litellm model string, e.g. openai/gpt-4o-mini",
            kind="bad_request",
        )
    return LLMError(f"{model}: {type(exc).__name__}: {detail}", kind="other")


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens as litellm counts them for `model` (imports litellm)."""
    litellm = import_litellm()
    return int(litellm.token_counter(model=model, messages=messages))
