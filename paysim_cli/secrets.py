"""Masks credentials in any text paysim prints, logs or raises."""

from __future__ import annotations

import re

MASK = "****"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # scheme://user:password@host
    re.compile(r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)(?P<secret>[^@\s]+)(?=@)"),
    # key=value pairs in Azure connection strings and libpq DSNs
    re.compile(
        r"(?P<keep>\b(?:AccountKey|SharedAccessKey|SharedAccessSignature|password|sig|"
        r"ClientSecret|InstrumentationKey)=)(?P<secret>[^;&\s'\"]+)",
        re.IGNORECASE,
    ),
)


def mask_secrets(text: str) -> str:
    """Return `text` with every password, account key, SAS key or signature replaced by ****."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group("keep") + MASK, text)
    return text
