"""Will the event hub take the planned load? Event Hubs ingress limits, checked before a run starts."""

from __future__ import annotations

import math

from pydantic import BaseModel

# Per throughput unit (Standard tier), and about the same per partition: whichever limit comes first.
INGRESS_BYTES_PER_UNIT = 1_000_000
INGRESS_EVENTS_PER_UNIT = 1_000


class CapacityCheck(BaseModel):
    peak_rate: float
    mean_event_bytes: float
    partitions: int
    throughput_units: int
    required_throughput_units: int
    warnings: list[str]


def check_capacity(
    *, peak_rate: float, mean_event_bytes: float, partitions: int, throughput_units: int
) -> CapacityCheck:
    """Compare the planned peak with the hub's ingress: 1 MB/s or 1,000 events/s per unit and partition."""
    needed = max(peak_rate / INGRESS_EVENTS_PER_UNIT, peak_rate * mean_event_bytes / INGRESS_BYTES_PER_UNIT)
    required = max(1, math.ceil(needed))
    warnings = []
    if required > throughput_units:
        warnings.append(
            f"the peak of {peak_rate:,.0f} events/s of ~{mean_event_bytes:,.0f} bytes needs {required} "
            f"throughput units, the hub has {throughput_units}: expect throttling (ServerBusy) and retries"
        )
    if needed > partitions:
        warnings.append(
            f"{partitions} partitions take about {partitions * INGRESS_EVENTS_PER_UNIT:,} events/s "
            f"({partitions} MB/s); the peak needs {math.ceil(needed)}: add partitions"
        )
    return CapacityCheck(
        peak_rate=peak_rate,
        mean_event_bytes=mean_event_bytes,
        partitions=partitions,
        throughput_units=throughput_units,
        required_throughput_units=required,
        warnings=warnings,
    )
