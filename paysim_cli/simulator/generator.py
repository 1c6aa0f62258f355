"""Payment events, generated with numpy in fixed-size blocks and serialised with orjson.

Block b of worker w draws from its own stream, SeedSequence(seed, spawn_key=(1, w, b)), so the bytes of
an event depend only on the seed, the profile, the run's start time and the event's index: not on how
the rate controller happens to slice the stream. Reference data (merchants, customers and their cards)
comes from SeedSequence(seed, spawn_key=(0,)), the same for every worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal

import orjson

from paysim_cli.simulator.contract import allowed_values, currency_codes, currency_exponents, schema_version
from paysim_cli.simulator.profile import Profile, normalised

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]

BLOCK_EVENTS = 2048
MAX_AMOUNT_MINOR = 10**13
PartitionKeyField = Literal["customer.id", "merchant.id", "transaction_id", "none"]

# Card networks' shares of customers' cards, and the IIN ranges their BINs are drawn from.
CARD_BRAND_SHARE = {
    "visa": 0.52,
    "mastercard": 0.31,
    "amex": 0.09,
    "discover": 0.04,
    "jcb": 0.02,
    "unionpay": 0.02,
}
BIN_RANGES = {
    "visa": [(400000, 499999)],
    "mastercard": [(510000, 559999), (222100, 272099)],
    "amex": [(340000, 349999), (370000, 379999)],
    "discover": [(601100, 601199), (650000, 659999)],
    "jcb": [(352800, 358999)],
    "unionpay": [(620000, 629999)],
}
CARD_TESTING_DECLINE_REASONS = ("invalid_cvv", "invalid_card", "expired_card", "do_not_honor")
ACCOUNT_TAKEOVER_DECLINE_REASONS = ("suspected_fraud", "limit_exceeded", "do_not_honor")
ACCOUNT_TAKEOVER_CHANNELS = ("mobile", "online_banking")


class EventKind(IntEnum):
    VALID = 0
    MALFORMED = 1
    DUPLICATE = 2


class MalformedKind(IntEnum):
    """How an injected malformed event breaks the schema; each one fails validation on its own."""

    NOT_JSON = 0
    MISSING_FIELD = 1
    WRONG_TYPE = 2
    BAD_EVENT_TIME = 3
    UNKNOWN_ENUM = 4


@dataclass(slots=True)
class EventBlock:
    """Events [first_index, first_index + len) of one worker: bodies to send and the columns to count."""

    first_index: int
    intended: FloatArray  # intended send time, seconds since the run started
    bodies: list[bytes]
    partition_keys: list[str | None]
    event_ms: IntArray
    payment_type: IntArray  # codes: positions in the schema's enums (currency: in the currency table)
    currency: IntArray
    mcc: IntArray
    channel: IntArray
    status: IntArray
    amount_minor: IntArray
    fraud: IntArray  # 0, or 1 + position in the schema's fraud_scenario enum
    kind: IntArray  # EventKind
    malformed_kind: IntArray  # MalformedKind, -1 for well-formed events
    source: IntArray  # for a duplicate, the position of the event it repeats; else its own position
    delivered: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.bodies)


def _cdf(probabilities: list[float]) -> FloatArray:
    import numpy as np

    cdf = np.cumsum(probabilities)
    cdf[-1] = 1.0
    return cdf


def _draw(rng: np.random.Generator, cdf: FloatArray, size: int) -> IntArray:
    """Indices drawn with the probabilities `cdf` accumulates."""
    import numpy as np

    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def _labels(prefix: str, values: IntArray, width: int) -> npt.NDArray[np.str_]:
    """`prefix` + zero-padded decimal `values`, built as bytes in numpy (no Python loop)."""
    import numpy as np

    digits = (values[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)) % 10
    text = np.empty((len(values), len(prefix) + width), dtype=np.uint8)
    text[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    text[:, len(prefix) :] = digits + ord("0")
    return text.view(f"S{text.shape[1]}").ravel().astype(f"U{text.shape[1]}")


_HEX = b"0123456789abcdef"
_UUID_DASHES = (8, 13, 18, 23)


def _uuid4_strings(rng: np.random.Generator, size: int) -> npt.NDArray[np.str_]:
    """Random (version 4) UUIDs, formatted in numpy."""
    import numpy as np

    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexdigits = np.frombuffer(_HEX, dtype=np.uint8)
    nibbles = np.empty((size, 32), dtype=np.uint8)
    nibbles[:, 0::2] = hexdigits[raw >> 4]
    nibbles[:, 1::2] = hexdigits[raw & 0x0F]
    text = np.full((size, 36), ord("-"), dtype=np.uint8)
    text[:, np.setdiff1d(np.arange(36), _UUID_DASHES)] = nibbles
    return text.view("S36").ravel().astype("U36")


def _codes(names: list[str], universe: tuple[str, ...]) -> IntArray:
    import numpy as np

    return np.array([universe.index(name) for name in names], dtype=np.int64)


class _Reference:
    """Merchants and customers (with their cards and devices) of a run: the same in every worker."""

    def __init__(self, profile: Profile, seed: int) -> None:
        import numpy as np

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
        countries, country_weights = normalised(profile.countries)
        self.countries = np.array(countries, dtype=object)
        country_cdf = _cdf(country_weights)

        merchants = profile.merchants
        mccs, mcc_weights = normalised(merchants.mccs)
        self.merchant_mcc = np.array(mccs, dtype=object)[_draw(rng, _cdf(mcc_weights), merchants.count)]
        self.merchant_mcc_code = self.merchant_mcc.astype(np.int64)
        self.merchant_country = _draw(rng, country_cdf, merchants.count)
        popularity = np.arange(1, merchants.count + 1, dtype=np.float64) ** -merchants.zipf_exponent
        self.merchant_cdf = _cdf((popularity / popularity.sum()).tolist())

        customers = profile.customers.count
        self.customer_country = _draw(rng, country_cdf, customers)
        brands, brand_weights = normalised(CARD_BRAND_SHARE)
        self.brand_names = np.array(brands, dtype=object)
        self.customer_brand = _draw(rng, _cdf(brand_weights), customers)
        self.customer_bin = np.empty(customers, dtype=np.int64)
        for code, brand in enumerate(brands):
            holders = np.flatnonzero(self.customer_brand == code)
            ranges = np.array(BIN_RANGES[brand])
            chosen = ranges[rng.integers(0, len(ranges), holders.size)]
            self.customer_bin[holders] = rng.integers(chosen[:, 0], chosen[:, 1] + 1)
        self.customer_last4 = rng.integers(0, 10_000, customers)


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
        self._ref = _Reference(profile, seed)

        self.payment_types = allowed_values("payment_type")
        self.channels = allowed_values("channel")
        self.statuses = allowed_values("status")
        self.currencies = currency_codes()
        self.scenarios = allowed_values("fraud_scenario")
        self._reasons = allowed_values("decline_reason")

        types, type_weights = normalised({name: spec.weight for name, spec in profile.payment_types.items()})
        self._type_codes = _codes(types, self.payment_types)
        self._type_cdf = _cdf(type_weights)
        size = len(self.payment_types)
        self._mu, self._sigma, self._decline_rate = np.zeros(size), np.ones(size), np.zeros(size)
        self._channel_draw: dict[int, tuple[IntArray, FloatArray]] = {}
        for name, spec in profile.payment_types.items():
            code = self.payment_types.index(name)
            self._mu[code], self._sigma[code] = spec.amount.mu, spec.amount.sigma
            self._decline_rate[code] = spec.decline_rate
            channels, channel_weights = normalised(spec.channels)
            self._channel_draw[code] = (_codes(channels, self.channels), _cdf(channel_weights))

        currencies, currency_weights = normalised(profile.currencies)
        self._currency_codes = _codes(currencies, self.currencies)
        self._currency_cdf = _cdf(currency_weights)
        self._minor_per_major = np.array([10.0 ** currency_exponents()[code] for code in self.currencies])
        reasons, reason_weights = normalised(profile.decline_reasons)
        self._reason_codes = _codes(reasons, self._reasons)
        self._reason_cdf = _cdf(reason_weights)

        self._names = {
            "payment_type": np.array(self.payment_types, dtype=object),
            "channel": np.array(self.channels, dtype=object),
            "status": np.array(self.statuses, dtype=object),
            "currency": np.array(self.currencies, dtype=object),
            "reason": np.array([*self._reasons, None], dtype=object),  # code -1: no reason
            "scenario": np.array([None, *self.scenarios], dtype=object),  # code 0: not fraud
        }

    def block(self, number: int, intended: FloatArray) -> EventBlock:
        """Block `number`: events number * BLOCK_EVENTS onwards, one per intended send time given."""
        import numpy as np

        rng = np.random.default_rng(np.random.SeedSequence(self._seed, spawn_key=(1, self._worker, number)))
        size = len(intended)
        ref = self._ref
        columns: dict[str, Any] = {}
        payment_type = self._type_codes[_draw(rng, self._type_cdf, size)]
        currency = self._currency_codes[_draw(rng, self._currency_cdf, size)]
        major = rng.lognormal(self._mu[payment_type], self._sigma[payment_type])
        columns["amount_minor"] = self._to_minor(major, currency)
        columns["merchant"] = np.searchsorted(ref.merchant_cdf, rng.random(size), side="right")
        columns["customer"] = rng.integers(0, len(ref.customer_country), size)
        channel = np.empty(size, dtype=np.int64)
        for code, (channel_codes, cdf) in self._channel_draw.items():
            holders = np.flatnonzero(payment_type == code)
            channel[holders] = channel_codes[_draw(rng, cdf, holders.size)]
        declined = rng.random(size) < self._decline_rate[payment_type]
        reason = np.where(declined, self._reason_codes[_draw(rng, self._reason_cdf, size)], -1)
        columns.update(payment_type=payment_type, currency=currency, channel=channel, reason=reason)
        columns["device"] = columns["customer"].copy()  # a customer's own device, numbered like them
        columns["new_device"] = np.zeros(size, dtype=bool)
        columns["device_country"] = ref.customer_country[columns["customer"]]
        columns["fraud"] = np.zeros(size, dtype=np.int64)
        self._card_testing(rng, columns)
        self._account_takeover(rng, columns)
        columns["event_ms"] = self._start_ms + np.rint(intended * 1000).astype(np.int64)
        columns["transaction_id"] = _uuid4_strings(rng, size)
        kind, malformed_kind, source = self._faults(rng, columns)
        columns = {name: values[source] for name, values in columns.items()}
        bodies, keys = self._serialise(columns)
        for position in np.flatnonzero(kind == EventKind.MALFORMED):
            bodies[position] = _malform(bodies[position], MalformedKind(malformed_kind[position]))
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
        codes = _codes(list(reasons), self._reasons)
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
            "customer.id": _labels("c", columns["customer"], 7).tolist(),
            "merchant.id": _labels("m", columns["merchant"], 6).tolist(),
        }
        fields = self._document_fields(columns, ids)
        names = tuple(fields)
        # Each field is named once, above: a document is the names zipped with one row of the columns.
        bodies = _dump_each(
            [dict(zip(names, row, strict=True)) for row in zip(*fields.values(), strict=True)]
        )
        if self._key_field == "none":
            return bodies, [None] * len(bodies)
        return bodies, list(ids[self._key_field])

    def _document_fields(self, columns: dict[str, Any], ids: dict[str, list[str]]) -> dict[str, list[Any]]:
        """Each top-level field of the event schema, in its order, as one list of values per field."""
        import numpy as np

        ref, names = self._ref, self._names
        customer, merchant, device = columns["customer"], columns["merchant"], columns["device"]
        size = len(ids["transaction_id"])
        event_times = np.datetime_as_string(
            columns["event_ms"].astype("datetime64[ms]"), unit="ms", timezone="UTC"
        ).tolist()
        device_ids = np.where(columns["new_device"], _labels("n", device, 7), _labels("d", device, 7)).astype(
            object
        )
        device_ids[columns["channel"] == self.channels.index("pos")] = None
        brands = ref.brand_names[ref.customer_brand[customer]]
        brands[columns["payment_type"] != self.payment_types.index("card")] = None
        reasons = names["reason"][columns["reason"]].tolist()
        scenarios = names["scenario"][columns["fraud"]].tolist()
        countries = ref.countries
        return {
            "schema_version": [schema_version()] * size,
            "transaction_id": ids["transaction_id"],
            "event_time": event_times,
            "payment_type": names["payment_type"][columns["payment_type"]].tolist(),
            "amount_minor": columns["amount_minor"].tolist(),
            "currency": names["currency"][columns["currency"]].tolist(),
            "merchant": _objects(
                id=ids["merchant.id"],
                mcc=ref.merchant_mcc[merchant].tolist(),
                country=countries[ref.merchant_country[merchant]].tolist(),
            ),
            "customer": _objects(
                id=ids["customer.id"], country=countries[ref.customer_country[customer]].tolist()
            ),
            "channel": names["channel"][columns["channel"]].tolist(),
            "device": _objects(id=device_ids.tolist(), country=countries[columns["device_country"]].tolist()),
            "status": ["approved" if reason is None else "declined" for reason in reasons],
            "decline_reason": reasons,
            "card": _objects(
                brand=brands.tolist(),
                bin=_labels("", ref.customer_bin[customer], 6).tolist(),
                last4=_labels("", ref.customer_last4[customer], 4).tolist(),
            ),
            "is_fraud": [scenario is not None for scenario in scenarios],
            "fraud_scenario": scenarios,
            "run_id": [self._run_id] * size,
        }


def _objects(**fields: list[Any]) -> list[dict[str, Any] | None]:
    """One object per row from columns named by keyword; None where the first column is None (no device
    at a point of sale, no card for a transfer)."""
    names = tuple(fields)
    return [
        None if row[0] is None else dict(zip(names, row, strict=True))
        for row in zip(*fields.values(), strict=True)
    ]


_EVENT_START = b'{"schema_version":'


def _dump_each(documents: list[dict[str, Any]]) -> list[bytes]:
    """Each event serialised alone, at a fraction of the cost of one orjson call per event.

    One call serialises the whole list; it is cut where an event starts. A string value cannot contain
    the cut marker, since orjson escapes every quote inside strings.
    """
    joined = orjson.dumps(documents)
    return [_EVENT_START + body for body in joined[1 + len(_EVENT_START) : -1].split(b"," + _EVENT_START)]


def _malform(body: bytes, kind: MalformedKind) -> bytes:
    """A copy of `body` broken in the way `kind` names."""
    if kind is MalformedKind.NOT_JSON:
        return body[: len(body) // 2]
    document = orjson.loads(body)
    if kind is MalformedKind.MISSING_FIELD:
        del document["amount_minor"]
    elif kind is MalformedKind.WRONG_TYPE:
        document["amount_minor"] = str(document["amount_minor"])
    elif kind is MalformedKind.BAD_EVENT_TIME:
        document["event_time"] = document["event_time"].replace("T", " ").removesuffix("Z")
    else:
        document["payment_type"] = "cheque"
    return orjson.dumps(document)
