"""Token verification with a shared access key configured: the SDK with the right key is served, a bad
token is refused with 401 as by the service, and links without a token are detached unauthorised."""

from __future__ import annotations

import pytest
from amqp_clients import Endpoint, RawClient, attach
from azure.eventhub import EventData, EventHubProducerClient
from azure.eventhub.exceptions import AuthenticationError

from paysim_cli.hub.amqp.auth import SharedAccessKey
from paysim_cli.hub.amqp.codec import Attach, Detach
from paysim_cli.hub.local_log import LocalEventLog

KEY = SharedAccessKey("RootManageSharedAccessKey", "c2VjcmV0LWtleS1mb3ItdGVzdHM=")


@pytest.fixture
def verifying(start_endpoint) -> Endpoint:
    return start_endpoint(sas_key=KEY)


def test_the_right_key_is_served(verifying: Endpoint) -> None:
    options = {"conn_str": verifying.connection_string(KEY.name, KEY.key), "retry_total": 0}
    with EventHubProducerClient.from_connection_string(**options) as client:
        batch = client.create_batch(partition_id="1")
        batch.add(EventData(b"signed"))
        client.send_batch(batch)
        assert client.get_partition_properties("1")["last_enqueued_sequence_number"] == 0
    with LocalEventLog.open(verifying.event_log) as log:
        assert log.read("1", 0, 1)[0].body == b"signed"


@pytest.mark.parametrize(("key_name", "key"), [(KEY.name, "d3Jvbmc="), ("OtherPolicy", KEY.key)])
def test_a_bad_token_is_refused_with_401(verifying: Endpoint, key_name: str, key: str) -> None:
    options = {"conn_str": verifying.connection_string(key_name, key), "retry_total": 0}
    with (
        EventHubProducerClient.from_connection_string(**options) as client,
        pytest.raises(AuthenticationError) as refused,
    ):
        client.get_partition_ids()
    assert "401" in str(refused.value)


def test_links_without_a_token_are_unauthorised(verifying: Endpoint) -> None:
    with RawClient(verifying.port) as raw:
        raw.open()
        raw.begin()
        raw.send(attach("sender", 0, "payments", receiving=False))
        assert isinstance(raw.read_frame()[1], Attach)
        detach = raw.read_frame()[1]
        assert isinstance(detach, Detach)
        assert detach.error[0] == b"amqp:unauthorized-access"
    with RawClient(verifying.port) as raw:  # SASL PLAIN with the policy's key authorises the namespace
        assert raw.handshake(b"PLAIN", f"\0{KEY.name}\0{KEY.key}".encode()) == 0
    with RawClient(verifying.port) as raw:
        assert raw.handshake(b"PLAIN", f"\0{KEY.name}\0wrong".encode()) == 1
