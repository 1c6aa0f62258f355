"""A run's reference data: merchants and customers, with their cards and devices, the same in every worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paysim_cli.simulator.generator.sampling import cumulative, draw
from paysim_cli.simulator.profile import Profile, normalised

if TYPE_CHECKING:
    pass

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


class Reference:
    """Merchants and customers (with their cards and devices) of a run: the same in every worker."""

    def __init__(self, profile: Profile, seed: int) -> None:
        import numpy as np

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
        countries, country_weights = normalised(profile.countries)
        self.countries = np.array(countries, dtype=object)
        country_cdf = cumulative(country_weights)

        merchants = profile.merchants
        mccs, mcc_weights = normalised(merchants.mccs)
        self.merchant_mcc = np.array(mccs, dtype=object)[draw(rng, cumulative(mcc_weights), merchants.count)]
        self.merchant_mcc_code = self.merchant_mcc.astype(np.int64)
        self.merchant_country = draw(rng, country_cdf, merchants.count)
        popularity = np.arange(1, merchants.count + 1, dtype=np.float64) ** -merchants.zipf_exponent
        self.merchant_cdf = cumulative((popularity / popularity.sum()).tolist())

        customers = profile.customers.count
        self.customer_country = draw(rng, country_cdf, customers)
        brands, brand_weights = normalised(CARD_BRAND_SHARE)
        self.brand_names = np.array(brands, dtype=object)
        self.customer_brand = draw(rng, cumulative(brand_weights), customers)
        self.customer_bin = np.empty(customers, dtype=np.int64)
        for code, brand in enumerate(brands):
            holders = np.flatnonzero(self.customer_brand == code)
            ranges = np.array(BIN_RANGES[brand])
            chosen = ranges[rng.integers(0, len(ranges), holders.size)]
            self.customer_bin[holders] = rng.integers(chosen[:, 0], chosen[:, 1] + 1)
        self.customer_last4 = rng.integers(0, 10_000, customers)
