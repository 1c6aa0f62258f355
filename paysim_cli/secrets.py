"""Masks credentials in any text paysim prints, logs or raises."""

from __future__ import annotations

import logging
import re

MASK = "****"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:password@host
    re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<secret>[^@\s]+)(?=@)"),
    # key=value pairs in Azure connection strings and libpq DSNs (and PGPASSWORD=... in a command line)
    re.compile(
        r"(?P<keep>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|password|pgpassword|sig|"
        r"ClientSecret|InstrumentationKey)=)(?P<secret>[^;&\s'\"]+)",
        re.IGNORECASE,
    ),
)


def mask_secrets(text: str) -> str:
    """Return `text` with every password, account key, SAS key or signature replaced by ****."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group("keep") + MASK, text)
    return text


class MaskingFormatter(logging.Formatter):
    """A log formatter whose lines (tracebacks included) go through `mask_secrets`."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))
