"""Logging setup: stdlib logging, plain text for people or one JSON object per line for machines.

Rules:
- configure once per process (the CLI does it); library code only calls
  ``logging.getLogger(__name__)`` and passes structured values through ``extra={...}``;
  payloads and personal data are never logged;
- a JSON line has ONE shape, the same as in the hub's ``hub.logs`` (a test
  feeds the same records through both formatters and requires the same line): ``ts`` (UTC,
  ISO 8601 with microseconds and a ``Z``: the protocol's ``format_utc``), ``level``, ``logger``,
  ``msg`` (arguments applied), then each ``extra=`` field as a top-level key in the order given
  (one named like a fixed key is written as ``extra_<name>``; a value that is not a JSON type, or
  a float that JSON cannot hold, is written as ``str``), then ``exc`` (the traceback) and
  ``stack`` when the record carries them;
- the two formatters share no code (the edge and the hub share only ``protocol``), so a change
  here is made there too.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime

from protocol import format_utc

# Attributes every LogRecord has (plus what formatters and uvicorn add): never emitted as extras.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName",
                                                    "color_message"}
_FIXED = ("ts", "level", "logger", "msg", "exc", "stack")


def _json_value(value: object) -> object:
    """JSON's own types as they are; anything else (Decimal, datetime, Path, …) as ``str``."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the extras, then exc and stack."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as one JSON line (see the module rules for its shape)."""
        data: dict[str, object] = {
            "ts": format_utc(datetime.fromtimestamp(record.created, UTC)),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                data[f"extra_{key}" if key in _FIXED else key] = _json_value(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Send all logs to stderr at ``level``, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
