"""paysim's Event Hubs publisher warmed up against the endpoint: every partition's sender link attached
and the size limit read, with nothing sent; then publishing goes over those links."""

from __future__ import annotations

from amqp_clients import PARTITIONS, Endpoint
from azure.eventhub import EventHubProducerClient

from paysim_cli.hub import eventhubs
from paysim_cli.hub.eventhubs import EventHubsPublisher
from paysim_cli.hub.local_log import LocalEventLog
from paysim_cli.hub.transport import MAX_BATCH_BYTES, OutgoingEvent


def test_the_sdk_internals_the_warm_up_uses_exist(endpoint: Endpoint) -> None:
    client = EventHubProducerClient.from_connection_string(**endpoint.client_options())
    try:
        for name in eventhubs.SDK_PRODUCER_INTERNALS:
            assert hasattr(client, name), f"EventHubProducerClient.{name} is gone: see open_partition_link"
    finally:
        client.close()


def test_a_warmed_up_publisher_has_every_partition_link_open_and_sent_nothing(endpoint: Endpoint) -> None:
    client = EventHubProducerClient.from_connection_string(**endpoint.client_options())
    publisher = EventHubsPublisher(client)
    try:
        publisher.warm_up()
        assert publisher.max_batch_bytes == MAX_BATCH_BYTES
        producers = {partition: client._producers[partition] for partition in map(str, range(PARTITIONS))}
        assert all(producer is not None and producer.running for producer in producers.values())
        with LocalEventLog.open(endpoint.event_log) as log:
            assert all(log.partition_info(str(p)).is_empty for p in range(PARTITIONS))
        result = publisher.publish([OutgoingEvent(b"after", partition_id=str(p)) for p in range(PARTITIONS)])
        assert result.by_partition == {str(p): 1 for p in range(PARTITIONS)}
        # The sends went over the links the warm-up opened.
        assert all(client._producers[partition] is producer for partition, producer in producers.items())
    finally:
        publisher.close()
