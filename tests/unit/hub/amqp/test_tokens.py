"""`$cbs` token checks: anything goes without a key; with one, only valid, unexpired SAS tokens for an
audience that covers the entity."""

from __future__ import annotations

import time

import pytest
from azure.eventhub._pyamqp.utils import generate_sas_token

from paysim_cli.hub.amqp.auth import (
    SAS_TOKEN_TYPE,
    SharedAccessKey,
    check_token,
    covers,
    entity_path,
    plain_credentials_valid,
)

KEY = SharedAccessKey("send-policy", "a2V5")
# Parametrized tokens are made at collection time: they must outlive a long test session.
LATER = int(time.time()) + 86_400
AUDIENCE = "sb://localhost:5672/payments"


def test_without_a_key_every_token_is_accepted() -> None:
    assert check_token("whatever", "jwt", AUDIENCE, None).accepted


def test_a_valid_sas_token_is_accepted_until_it_expires() -> None:
    expiry = int(time.time()) + 60
    token = generate_sas_token(AUDIENCE, KEY.name, KEY.key, expiry)
    verdict = check_token(token, SAS_TOKEN_TYPE, AUDIENCE + "/ConsumerGroups/$Default", KEY)
    assert (verdict.status, verdict.expires_at) == (202, expiry)
    assert check_token(token, SAS_TOKEN_TYPE, AUDIENCE, KEY, now=expiry + 1).description.startswith(
        "ExpiredToken"
    )


@pytest.mark.parametrize(
    ("token", "token_type", "reason"),
    [
        (
            generate_sas_token(AUDIENCE, KEY.name, "b3RoZXI=", LATER),
            SAS_TOKEN_TYPE,
            "signature",
        ),
        (generate_sas_token(AUDIENCE, "other", KEY.key, LATER), SAS_TOKEN_TYPE, "unknown"),
        (
            generate_sas_token("sb://localhost/other-hub", KEY.name, KEY.key, LATER),
            SAS_TOKEN_TYPE,
            "for",
        ),
        ("SharedAccessSignature sr=x&sig=y", SAS_TOKEN_TYPE, "not a shared access signature"),
        ("eyJ.eyJ.sig", "jwt", "cannot be verified"),
    ],
)
def test_bad_tokens_get_401(token: str, token_type: str, reason: str) -> None:
    verdict = check_token(token, token_type, AUDIENCE, KEY)
    assert verdict.status == 401
    assert reason in verdict.description


def test_audiences_cover_their_entities() -> None:
    assert (
        entity_path("amqps://localhost:5672/Payments/ConsumerGroups/$Default/")
        == "payments/consumergroups/$default"
    )
    assert entity_path("payments/Partitions/1") == "payments/partitions/1"
    assert covers("", "payments")
    assert covers("payments", "payments/partitions/1")
    assert not covers("payments", "payments2")


def test_sasl_plain_takes_the_policy_name_and_key() -> None:
    assert plain_credentials_valid(b"anything", None)
    assert plain_credentials_valid(b"\0send-policy\0a2V5", KEY)
    assert not plain_credentials_valid(b"\0send-policy\0wrong", KEY)
    assert not plain_credentials_valid(b"send-policy", KEY)
