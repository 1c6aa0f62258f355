"""Events as JSON: the schema's fields from a block's columns, serialised with orjson, and the malformed
variants the fault injection asks for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from paysim_cli.simulator.contract import schema_version
from paysim_cli.simulator.generator.block import MalformedKind
from paysim_cli.simulator.generator.sampling import labels

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from paysim_cli.simulator.generator.reference import Reference


@dataclass(frozen=True)
class Vocabulary:
    """What encoding needs from the generator: reference data, code-to-name tables, two codes, the run."""

    reference: Reference
    names: dict[str, npt.NDArray[np.object_]]
    point_of_sale: int  # the channel code of a point-of-sale payment: no device
    card: int  # the payment type code of a card payment: only those carry a card
    run_id: str


def document_fields(
    columns: dict[str, Any], ids: dict[str, list[str]], vocabulary: Vocabulary
) -> dict[str, list[Any]]:
    """Each top-level field of the event schema, in its order, as one list of values per field."""
    import numpy as np

    ref, names = vocabulary.reference, vocabulary.names
    customer, merchant, device = columns["customer"], columns["merchant"], columns["device"]
    size = len(ids["transaction_id"])
    event_times = np.datetime_as_string(
        columns["event_ms"].astype("datetime64[ms]"), unit="ms", timezone="UTC"
    ).tolist()
    device_ids = np.where(columns["new_device"], labels("n", device, 7), labels("d", device, 7)).astype(
        object
    )
    device_ids[columns["channel"] == vocabulary.point_of_sale] = None
    brands = ref.brand_names[ref.customer_brand[customer]]
    brands[columns["payment_type"] != vocabulary.card] = None
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
        "merchant": objects(
            id=ids["merchant.id"],
            mcc=ref.merchant_mcc[merchant].tolist(),
            country=countries[ref.merchant_country[merchant]].tolist(),
        ),
        "customer": objects(
            id=ids["customer.id"], country=countries[ref.customer_country[customer]].tolist()
        ),
        "channel": names["channel"][columns["channel"]].tolist(),
        "device": objects(id=device_ids.tolist(), country=countries[columns["device_country"]].tolist()),
        "status": ["approved" if reason is None else "declined" for reason in reasons],
        "decline_reason": reasons,
        "card": objects(
            brand=brands.tolist(),
            bin=labels("", ref.customer_bin[customer], 6).tolist(),
            last4=labels("", ref.customer_last4[customer], 4).tolist(),
        ),
        "is_fraud": [scenario is not None for scenario in scenarios],
        "fraud_scenario": scenarios,
        "run_id": [vocabulary.run_id] * size,
    }


def objects(**fields: list[Any]) -> list[dict[str, Any] | None]:
    """One object per row from columns named by keyword; None where the first column is None (no device
    at a point of sale, no card for a transfer)."""
    names = tuple(fields)
    return [
        None if row[0] is None else dict(zip(names, row, strict=True))
        for row in zip(*fields.values(), strict=True)
    ]


_EVENT_START = b'{"schema_version":'


def dump_each(documents: list[dict[str, Any]]) -> list[bytes]:
    """Each event serialised alone, at a fraction of the cost of one orjson call per event.

    One call serialises the whole list; it is cut where an event starts. A string value cannot contain
    the cut marker, since orjson escapes every quote inside strings.
    """
    joined = orjson.dumps(documents)
    return [_EVENT_START + body for body in joined[1 + len(_EVENT_START) : -1].split(b"," + _EVENT_START)]


def malform(body: bytes, kind: MalformedKind) -> bytes:
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
