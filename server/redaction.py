"""No secret leaves the process in a log line.

Three nets, applied to every structlog event and every stdlib ``LogRecord`` (httpx, botocore,
urllib3, uvicorn, sync...) before any handler sees it:

- known values: every secret the settings name (WeChat AppSecret, JWT secret, S3 secret key)
  and any value registered at run time with :func:`remember` (a webhook secret HQ
  registers) is replaced wherever it appears;
- names: a structlog key or a ``name=value`` pair (URL query, form, header) whose name says
  secret, password, token, session key or signature keeps its name and loses its value;
- shapes: JSON Web Tokens and ``Bearer`` credentials.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any

REDACTED = "[redacted]"
_MIN_SECRET = 6

_SENSITIVE_NAME = re.compile(
    r"(?i)(secret|passw(or)?d|token|session_?key|signature|credential|authorization|"
    r"api_?key|access_?key|private_?key|cookie|js_?code|x-amz-security)"
)
# name=value in URLs, forms, headers and prose; the value ends at a separator or quote.
_PAIR = re.compile(
    r"(?i)(?P<name>[\w.-]*(?:secret|passw(?:or)?d|token|session_?key|signature|credential|"
    r"js_?code|api_?key|access_?key|x-amz-security-token)[\w.-]*)"
    r"(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?P<value>[^&\s\"',;<>)}\]]+)"
)
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]{4,}")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]{8,}")


class _KnownSecrets:
    """Secret values to replace; run-time ones (webhook secrets) are bounded, oldest dropped."""

    limit = 256

    def __init__(self) -> None:
        self.values: dict[str, None] = {}
        self.kept: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.lock = threading.Lock()

    def add(self, values: Iterable[str | None], *, keep: bool) -> None:
        fresh = [v for v in values if v and len(v) >= _MIN_SECRET and v not in self.values]
        if not fresh:
            return
        with self.lock:
            self.values.update(dict.fromkeys(fresh))
            if keep:
                self.kept.update(fresh)
            for old in [v for v in self.values if v not in self.kept][: -self.limit or None]:
                del self.values[old]
            ordered = sorted(self.values, key=len, reverse=True)
            self.pattern = re.compile("|".join(re.escape(v) for v in ordered))


_known = _KnownSecrets()


def remember(values: Iterable[str | None], *, keep: bool = False) -> None:
    """Register secret values never to print; ``keep`` for configured ones (never dropped)."""
    _known.add(values, keep=keep)


def redact_text(text: str) -> str:
    """The text with every known secret, secret-named value and token shape replaced."""
    pattern = _known.pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    text = _PAIR.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    return _BEARER.sub(rf"\1 {REDACTED}", text)


def redact_value(value: Any, name: str = "") -> Any:
    """A log value with secrets removed, walking dicts, lists and tuples."""
    if name and _SENSITIVE_NAME.search(name) and value not in (None, "", 0, False):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, bytes | bytearray | int | float | bool) or value is None:
        return value
    return redact_text(repr(value)) if _SENSITIVE_NAME.search(repr(value)) else value


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> Any:
    """structlog processor: redact every value of the event (run after exceptions are formatted)."""
    for key in list(event):
        event[key] = redact_value(event[key], "" if key == "event" else key)
    return event


def install_record_redaction() -> None:
    """Make every stdlib LogRecord, from any library, carry a redacted message (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "channelhub_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        redact_record(record)
        return record

    factory.channelhub_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_formatter = logging.Formatter()


def redact_record(record: logging.LogRecord) -> None:
    """Replace the record's message (and its traceback text) by a redacted rendering."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    record.msg, record.args = redact_text(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact_text(_formatter.formatException(record.exc_info))
