"""How the local host's workers hold their partitions: leases in the local log, renewed in a loop.

Apart from the consumer loop so that `paysim health` can judge a worker by its leases without
importing the host (the Functions runtime, numpy).
"""

from __future__ import annotations

# A worker that stops renewing (killed, hung) loses its partitions to the others after this long.
LEASE_SECONDS = 10.0
# How often a running worker renews its leases (and rebalances).
CLAIM_INTERVAL_SECONDS = 1.0
