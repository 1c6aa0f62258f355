"""Secrets are masked in every text paysim prints."""

from __future__ import annotations

import pytest

from paysim_cli.secrets import mask_secrets


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
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected
