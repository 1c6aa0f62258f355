"""Partition routing: the SDK's key hash, explicit ids, round-robin; event sizes and batch splitting."""

from __future__ import annotations

import random
import string

import pytest
from azure.eventhub._buffered_producer._partition_resolver import PartitionResolver

from paysim_cli.hub.routing import (
    PartitionRouter,
    event_size,
    partition_index_for_key,
    partition_indexes,
    split_batches,
)
from paysim_cli.hub.transport import MAX_EVENT_BYTES, HubError, OutgoingEvent


def test_key_hash_matches_the_sdk_resolver_for_many_keys_and_partition_counts() -> None:
    generator = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "-_:/é€"
    for _ in range(2_000):
        key = "".join(generator.choices(alphabet, k=generator.randint(0, 40)))
        count = generator.choice([1, 2, 3, 4, 5, 8, 16, 32, 100])
        ids = [str(index) for index in range(count)]
        expected = PartitionResolver(ids).get_partition_id_by_partition_key(key)
        assert str(partition_index_for_key(key, count)) == expected


def test_keys_hashed_together_match_the_sdk_resolver() -> None:
    generator = random.Random(11)
    alphabet = string.ascii_letters + string.digits + "-_:/é€中😀"
    keys = ["".join(generator.choices(alphabet, k=generator.randint(0, 50))) for _ in range(3_000)]
    for count in (1, 2, 3, 4, 7, 32, 100):
        resolver = PartitionResolver([str(index) for index in range(count)])
        expected = [int(resolver.get_partition_id_by_partition_key(key)) for key in keys]
        assert partition_indexes(keys, count) == expected


def test_group_routes_mixed_events_as_route_does_one_by_one() -> None:
    events = [
        OutgoingEvent(b"a", partition_key=f"customer-{number}")
        if number % 3
        else OutgoingEvent(b"b", partition_id=str(number % 4))
        for number in range(40)
    ] + [OutgoingEvent(b"c")] * 4
    grouped = PartitionRouter(["0", "1", "2", "3"]).group(events)
    one_by_one = PartitionRouter(["0", "1", "2", "3"])
    expected: dict[str, list[OutgoingEvent]] = {}
    for event in events:
        expected.setdefault(one_by_one.route(event), []).append(event)
    assert grouped == expected


@pytest.mark.parametrize(
    ("key", "on_4", "on_32"),
    [("merchant-00001", 3, 31), ("merchant-00002", 1, 13), ("c-000042", 2, 6), ("", 0, 0), ("x", 1, 13)],
)
def test_key_placement_is_pinned(key: str, on_4: int, on_32: int) -> None:
    """Golden values: an SDK upgrade that changed placement would move keys between partitions."""
    assert partition_index_for_key(key, 4) == on_4
    assert partition_index_for_key(key, 32) == on_32


def test_router_uses_explicit_partition_then_key_then_round_robin() -> None:
    router = PartitionRouter(["0", "1", "2"])
    assert router.route(OutgoingEvent(b"a", partition_key="merchant-00002", partition_id="2")) == "2"
    assert router.route(OutgoingEvent(b"a", partition_key="x")) == str(partition_index_for_key("x", 3))
    assert [router.route(OutgoingEvent(b"a")) for _ in range(4)] == ["0", "1", "2", "0"]


def test_router_rejects_an_unknown_partition() -> None:
    with pytest.raises(HubError) as raised:
        PartitionRouter(["0", "1"]).route(OutgoingEvent(b"a", partition_id="7"))
    assert raised.value.code == "unknown_partition"
    assert raised.value.hint == "use one of: 0, 1"


def test_group_keeps_each_partitions_events_in_order() -> None:
    events = [OutgoingEvent(str(number).encode()) for number in range(6)]
    grouped = PartitionRouter(["0", "1"]).group(events)
    assert [event.body for event in grouped["0"]] == [b"0", b"2", b"4"]
    assert [event.body for event in grouped["1"]] == [b"1", b"3", b"5"]


def test_event_size_counts_body_key_and_properties() -> None:
    assert event_size(OutgoingEvent(b"abcd")) == 4
    assert event_size(OutgoingEvent(b"abcd", partition_key="ké")) == 4 + 3
    assert event_size(OutgoingEvent(b"abcd", properties={"a": 1})) == 4 + len(b'{"a":1}')


def test_split_batches_fills_each_batch_up_to_the_limit() -> None:
    events = [OutgoingEvent(b"x" * 40) for _ in range(5)]
    assert [len(batch) for batch in split_batches(events, 100)] == [2, 2, 1]
    assert list(split_batches([], 100)) == []


def test_split_batches_rejects_an_event_over_the_limit() -> None:
    with pytest.raises(HubError) as raised:
        list(split_batches([OutgoingEvent(b"x" * (MAX_EVENT_BYTES + 1))], 2 * MAX_EVENT_BYTES))
    assert raised.value.code == "event_too_large"
    assert str(MAX_EVENT_BYTES + 1) in raised.value.message
