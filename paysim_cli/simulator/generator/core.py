"""The generator: one worker's events, block by block, with fraud scenarios and injected faults.

Block b of worker w draws from its own stream, SeedSequence(seed, spawn_key=(1, w, b)), so the bytes of
an event depend only on the seed, the profile, the run's start time and the event's index: not on how
the rate controller happens to slice the stream. Reference data (merchants, customers and their cards)
comes from SeedSequence(seed, spawn_key=(0,)), the same for every worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from paysim_cli.simulator.contract import allowed_values, currency_codes, currency_exponents
from paysim_cli.simulator.generator.block import (
    BLOCK_EVENTS,
    MAX_AMOUNT_MINOR,
    EventBlock,
    EventKind,
    MalformedKind,
)
from paysim_cli.simulator.generator.encoding import Vocabulary, document_fields, dump_each, malform
from paysim_cli.simulator.generator.reference import Reference
from paysim_cli.simulator.generator.sampling import codes_of, cumulative, draw, labels, uuid4_strings
from paysim_cli.simulator.profile import Profile, normalised
from paysim_cli.simulator.request import PartitionKeyField

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]

CARD_TESTING_DECLINE_REASONS = ("invalid_cvv", "invalid_card", "expired_card", "do_not_honor")
ACCOUNT_TAKEOVER_DECLINE_REASONS = ("suspected_fraud", "limit_exceeded", "do_not_honor")
ACCOUNT_TAKEOVER_CHANNELS = ("mobile", "online_banking")


class EventGenerator:
    """Builds one worker's events block by block, for one profile, seed, run and start time."""

    def __init__(
        self,
        profile: Profile,
        *,
        seed: int,
        worker: int,
        run_id: str,
        start_ms: int,
        partition_key_field: PartitionKeyField = "customer.id",
    ) -> None:
        import numpy as np

        self._profile = profile
        self._seed = seed
        self._worker = worker
        self._run_id = run_id
        self._start_ms = start_ms
        self._key_field = partition_key_field
        self._ref = Reference(profile, seed)

        self.payment_types = allowed_values("payment_type")
        self.channels = allowed_values("channel")
        self.statuses = allowed_values("status")
        self.currencies = currency_codes()
        self.scenarios = allowed_values("fraud_scenario")
        self._reasons = allowed_values("decline_reason")

        types, type_weights = normalised({name: spec.weight for name, spec in profile.payment_types.items()})
        self._type_codes = codes_of(types, self.payment_types)
        self._type_cdf = cumulative(type_weights)
        size = len(self.payment_types)
        self._mu, self._sigma, self._decline_rate = np.zeros(size), np.ones(size), np.zeros(size)
        self._channel_draw: dict[int, tuple[IntArray, FloatArray]] = {}
        for name, spec in profile.payment_types.items():
            code = self.payment_types.index(name)
            self._mu[code], self._sigma[code] = spec.amount.mu, spec.amount.sigma
            self._decline_rate[code] = spec.decline_rate
            channels, channel_weights = normalised(spec.channels)
            self._channel_draw[code] = (codes_of(channels, self.channels), cumulative(channel_weights))

        currencies, currency_weights = normalised(profile.currencies)
        self._currency_codes = codes_of(currencies, self.currencies)
        self._currency_cdf = cumulative(currency_weights)
        self._minor_per_major = np.array([10.0 ** currency_exponents()[code] for code in self.currencies])
        reasons, reason_weights = normalised(profile.decline_reasons)
        self._reason_codes = codes_of(reasons, self._reasons)
        self._reason_cdf = cumulative(reason_weights)

        self._names, self._vocabulary = self._tables()

    def _tables(self) -> tuple[dict[str, npt.NDArray[np.object_]], Vocabulary]:
        """Code-to-name tables for encoding, and what else the encoder needs to know."""
        import numpy as np

        names = {
            "payment_type": np.array(self.payment_types, dtype=object),
            "channel": np.array(self.channels, dtype=object),
            "status": np.array(self.statuses, dtype=object),
            "currency": np.array(self.currencies, dtype=object),
            "reason": np.array([*self._reasons, None], dtype=object),  # code -1: no reason
            "scenario": np.array([None, *self.scenarios], dtype=object),  # code 0: not fraud
        }
        return names, Vocabulary(
            reference=self._ref,
            names=names,
            point_of_sale=self.channels.index("pos"),
            card=self.payment_types.index("card"),
            run_id=self._run_id,
        )

    def block(self, number: int, intended: FloatArray) -> EventBlock:
        """Block `number`: events number * BLOCK_EVENTS onwards, one per intended send time given."""
        import numpy as np

        rng = np.random.default_rng(np.random.SeedSequence(self._seed, spawn_key=(1, self._worker, number)))
        size = len(intended)
        ref = self._ref
        columns: dict[str, Any] = {}
        payment_type = self._type_codes[draw(rng, self._type_cdf, size)]
        currency = self._currency_codes[draw(rng, self._currency_cdf, size)]
        major = rng.lognormal(self._mu[payment_type], self._sigma[payment_type])
        columns["amount_minor"] = self._to_minor(major, currency)
        columns["merchant"] = np.searchsorted(ref.merchant_cdf, rng.random(size), side="right")
        columns["customer"] = rng.integers(0, len(ref.customer_country), size)
        channel = np.empty(size, dtype=np.int64)
        for code, (channel_codes, cdf) in self._channel_draw.items():
            holders = np.flatnonzero(payment_type == code)
            channel[holders] = channel_codes[draw(rng, cdf, holders.size)]
        declined = rng.random(size) < self._decline_rate[payment_type]
        reason = np.where(declined, self._reason_codes[draw(rng, self._reason_cdf, size)], -1)
        columns.update(payment_type=payment_type, currency=currency, channel=channel, reason=reason)
        columns["device"] = columns["customer"].copy()  # a customer's own device, numbered like them
        columns["new_device"] = np.zeros(size, dtype=bool)
        columns["device_country"] = ref.customer_country[columns["customer"]]
        columns["fraud"] = np.zeros(size, dtype=np.int64)
        self._card_testing(rng, columns)
        self._account_takeover(rng, columns)
        columns["event_ms"] = self._start_ms + np.rint(intended * 1000).astype(np.int64)
        columns["transaction_id"] = uuid4_strings(rng, size)
        kind, malformed_kind, source = self._faults(rng, columns)
        columns = {name: values[source] for name, values in columns.items()}
        bodies, keys = self._serialise(columns)
        for position in np.flatnonzero(kind == EventKind.MALFORMED):
            bodies[position] = malform(bodies[position], MalformedKind(malformed_kind[position]))
        status_code = np.where(
            columns["reason"] >= 0, self.statuses.index("declined"), self.statuses.index("approved")
        )
        return EventBlock(
            first_index=number * BLOCK_EVENTS,
            intended=intended,
            bodies=bodies,
            partition_keys=keys,
            event_ms=columns["event_ms"],
            payment_type=columns["payment_type"],
            currency=columns["currency"],
            mcc=ref.merchant_mcc_code[columns["merchant"]],
            channel=columns["channel"],
            status=status_code,
            amount_minor=columns["amount_minor"],
            fraud=columns["fraud"],
            kind=kind,
            malformed_kind=malformed_kind,
            source=source,
            delivered=np.zeros(size, dtype=bool),
        )

    def _to_minor(self, major: FloatArray, currency: IntArray) -> IntArray:
        import numpy as np

        minor: IntArray = np.clip(
            np.rint(major * self._minor_per_major[currency]), 1, MAX_AMOUNT_MINOR
        ).astype(np.int64)
        return minor

    def _bursts(
        self, rng: np.random.Generator, share: float, sizes: tuple[int, int], total: int
    ) -> list[slice]:
        """Runs of consecutive positions, as many as make up `share` of the block on average."""
        mean_size = (sizes[0] + sizes[1]) / 2
        bursts: list[slice] = []
        for _ in range(int(rng.poisson(share * total / mean_size))):
            length = min(int(rng.integers(sizes[0], sizes[1] + 1)), total)
            start = int(rng.integers(0, total - length + 1))
            bursts.append(slice(start, start + length))
        return bursts

    def _mark_fraud(
        self, rng: np.random.Generator, columns: dict[str, Any], burst: slice, scenario: str
    ) -> None:
        """One attacker: one victim customer, on a device never seen before."""
        columns["fraud"][burst] = 1 + self.scenarios.index(scenario)
        columns["customer"][burst] = rng.integers(0, len(self._ref.customer_country))
        columns["currency"][burst] = columns["currency"][burst.start]
        columns["device"][burst] = rng.integers(0, 10**7)
        columns["new_device"][burst] = True

    def _declines(
        self,
        rng: np.random.Generator,
        columns: dict[str, Any],
        burst: slice,
        rate: float,
        reasons: tuple[str, ...],
    ) -> None:
        import numpy as np

        length = burst.stop - burst.start
        codes = codes_of(list(reasons), self._reasons)
        columns["reason"][burst] = np.where(
            rng.random(length) < rate, codes[rng.integers(0, len(codes), length)], -1
        )

    def _card_testing(self, rng: np.random.Generator, columns: dict[str, Any]) -> None:
        """Small authorisations from one stolen card, at one online merchant, mostly declined."""
        spec = self._profile.fraud.card_testing
        for burst in self._bursts(rng, spec.share, spec.burst_size, len(columns["fraud"])):
            self._mark_fraud(rng, columns, burst, "card_testing")
            length = burst.stop - burst.start
            columns["payment_type"][burst] = self.payment_types.index("card")
            columns["channel"][burst] = self.channels.index("ecommerce")
            columns["merchant"][burst] = rng.integers(0, len(self._ref.merchant_country))
            columns["amount_minor"][burst] = rng.integers(
                spec.amount_minor[0], spec.amount_minor[1] + 1, length
            )
            columns["device_country"][burst] = rng.integers(0, len(self._ref.countries))
            self._declines(rng, columns, burst, spec.decline_rate, CARD_TESTING_DECLINE_REASONS)

    def _account_takeover(self, rng: np.random.Generator, columns: dict[str, Any]) -> None:
        """High-value payments from one customer's account, from a new device in another country."""
        import numpy as np

        spec = self._profile.fraud.account_takeover
        for burst in self._bursts(rng, spec.share, spec.burst_size, len(columns["fraud"])):
            self._mark_fraud(rng, columns, burst, "account_takeover")
            length = burst.stop - burst.start
            home = self._ref.customer_country[columns["customer"][burst.start]]
            elsewhere = (home + rng.integers(1, len(self._ref.countries))) % len(self._ref.countries)
            columns["device_country"][burst] = elsewhere
            channel = ACCOUNT_TAKEOVER_CHANNELS[int(rng.integers(0, len(ACCOUNT_TAKEOVER_CHANNELS)))]
            columns["channel"][burst] = self.channels.index(channel)
            major = rng.lognormal(spec.amount.mu, spec.amount.sigma, length)
            columns["amount_minor"][burst] = self._to_minor(
                major, np.repeat(columns["currency"][burst.start], length)
            )
            self._declines(rng, columns, burst, spec.decline_rate, ACCOUNT_TAKEOVER_DECLINE_REASONS)

    def _faults(
        self, rng: np.random.Generator, columns: dict[str, Any]
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Malformed events, duplicates of earlier well-formed ones, and event times pushed into the past."""
        import numpy as np

        faults = self._profile.faults
        size = len(columns["fraud"])
        malformed = rng.random(size) < faults.malformed_rate
        wants_duplicate = (rng.random(size) < faults.duplicate_rate) & ~malformed
        late = rng.random(size) < faults.out_of_order_rate
        delay_ms = rng.integers(1000, int(faults.out_of_order_max_delay * 1000) + 1, size)
        columns["event_ms"] = np.where(late & ~malformed, columns["event_ms"] - delay_ms, columns["event_ms"])

        # A duplicate repeats a random earlier event of the block that is itself an original.
        original = ~malformed & ~wants_duplicate
        originals = np.flatnonzero(original)
        earlier: IntArray = np.cumsum(original) - original  # originals strictly before each position
        duplicate = wants_duplicate & (earlier > 0)
        source = np.arange(size)
        picks = np.floor(rng.random(size) * earlier).astype(np.int64)
        source[duplicate] = originals[picks[duplicate]]

        kind = np.full(size, EventKind.VALID, dtype=np.int64)
        kind[malformed] = EventKind.MALFORMED
        kind[duplicate] = EventKind.DUPLICATE
        malformed_kind = np.where(malformed, rng.integers(0, len(MalformedKind), size), -1)
        return kind, malformed_kind, source

    def _serialise(self, columns: dict[str, Any]) -> tuple[list[bytes], list[str | None]]:
        """Event bodies in the schema's field order, and each event's partition key."""
        ids = {
            "transaction_id": columns["transaction_id"].tolist(),
            "customer.id": labels("c", columns["customer"], 7).tolist(),
            "merchant.id": labels("m", columns["merchant"], 6).tolist(),
        }
        fields = document_fields(columns, ids, self._vocabulary)
        names = tuple(fields)
        # Each field is named once, above: a document is the names zipped with one row of the columns.
        bodies = dump_each([dict(zip(names, row, strict=True)) for row in zip(*fields.values(), strict=True)])
        if self._key_field == "none":
            return bodies, [None] * len(bodies)
        return bodies, list(ids[self._key_field])
