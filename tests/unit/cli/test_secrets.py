"""Secrets are masked in every text paysim prints."""

from __future__ import annotations

import logging
import sys

import pytest

from paysim_cli.secrets import MaskingFormatter, mask_secrets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://admin:s3cret@db:5432/x", "postgresql://admin:****@db:5432/x"),
        (
            "Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=abc=;EntityPath=hub",
            "Endpoint=sb://ns/;SharedAccessKeyName=root;SharedAccessKey=****;EntityPath=hub",
        ),
        ("AccountName=a;AccountKey=Zm9v==;BlobEndpoint=x", "AccountName=a;AccountKey=****;BlobEndpoint=x"),
        ("host=db password=hunter2 user=u", "host=db password=**** user=u"),
        (
            "https://acct.blob.core.windows.net/c?sv=1&sig=abc%2F",
            "https://acct.blob.core.windows.net/c?sv=1&sig=****",
        ),
        ("postgresql://postgres@127.0.0.1:5432/paysim", "postgresql://postgres@127.0.0.1:5432/paysim"),
        ("PGPASSWORD=hunter2 psql -h db", "PGPASSWORD=**** psql -h db"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


def test_log_lines_are_masked_tracebacks_too() -> None:
    formatter = MaskingFormatter("%(levelname)s %(message)s")
    try:
        raise RuntimeError("cannot reach postgresql://u:s3cret@db/x")
    except RuntimeError:
        record = logging.LogRecord(
            "paysim", logging.WARNING, __file__, 1, "using %s", ("password=hunter2",), sys.exc_info()
        )
    line = formatter.format(record)
    assert line.startswith("WARNING using password=****")
    assert "RuntimeError: cannot reach postgresql://u:****@db/x" in line
    assert "s3cret" not in line
    assert "hunter2" not in line
