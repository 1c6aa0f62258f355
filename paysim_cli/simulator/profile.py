"""The load profile: what traffic to generate and at what rate, validated against the event contract."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from paysim_cli.simulator.contract import allowed_values, currency_exponents

Probability = Annotated[float, Field(ge=0, le=1)]
Weight = Annotated[float, Field(gt=0)]
Seconds = Annotated[float, Field(gt=0, le=30 * 24 * 3600)]
EventsPerSecond = Annotated[float, Field(ge=0, le=10_000_000)]


def _one_of(kind: str, allowed: Callable[[], tuple[str, ...]]) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed():
            raise ValueError(f"unknown {kind} {value!r}; expected one of {', '.join(allowed())}")
        return value

    return AfterValidator(check)


PaymentTypeName = Annotated[str, _one_of("payment type", lambda: allowed_values("payment_type"))]
ChannelName = Annotated[str, _one_of("channel", lambda: allowed_values("channel"))]
DeclineReason = Annotated[str, _one_of("decline reason", lambda: allowed_values("decline_reason"))]
CurrencyCode = Annotated[str, _one_of("currency", lambda: tuple(sorted(currency_exponents())))]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
MerchantCategoryCode = Annotated[str, Field(pattern=r"^[0-9]{4}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RampStage(_Strict):
    """Change the rate linearly from the current rate to `to` over `duration` seconds."""

    kind: Literal["ramp"]
    duration: Seconds
    to: EventsPerSecond


class HoldStage(_Strict):
    """Keep a rate (`rate`, or the current rate) for `duration` seconds."""

    kind: Literal["hold"]
    duration: Seconds
    rate: EventsPerSecond | None = None


class SpikeStage(_Strict):
    """Jump to `to` for `duration` seconds, then return to the rate before the spike."""

    kind: Literal["spike"]
    duration: Seconds
    to: EventsPerSecond


Stage = Annotated[RampStage | HoldStage | SpikeStage, Field(discriminator="kind")]


class LogNormal(_Strict):
    """A log-normal amount in major units: ln(amount) ~ Normal(mu, sigma); the median is exp(mu)."""

    mu: float = Field(ge=-5, le=20)
    sigma: float = Field(gt=0, le=5)


class PaymentTypeProfile(_Strict):
    weight: Weight
    amount: LogNormal
    decline_rate: Probability = 0.0
    channels: dict[ChannelName, Weight] = Field(min_length=1)


class MerchantProfile(_Strict):
    model_config = ConfigDict(coerce_numbers_to_str=True)

    count: int = Field(ge=1, le=1_000_000)
    zipf_exponent: float = Field(1.0, ge=0, le=5, description="popularity of the merchant of rank r ~ r^-s")
    mccs: dict[MerchantCategoryCode, Weight] = Field(min_length=1)


class CustomerProfile(_Strict):
    count: int = Field(ge=1, le=5_000_000)


class CardTesting(_Strict):
    """Bursts of small card authorisations from one stolen card, at one online merchant, mostly declined."""

    share: Probability = Field(0.0, le=0.5, description="fraction of events that belong to such bursts")
    burst_size: tuple[int, int] = Field((10, 40), description="[min, max] events per burst")
    amount_minor: tuple[int, int] = Field((50, 300), description="[min, max] amount in minor units")
    decline_rate: Probability = 0.8

    @model_validator(mode="after")
    def _ranges_ordered(self) -> CardTesting:
        _check_range("burst_size", self.burst_size)
        _check_range("amount_minor", self.amount_minor)
        return self


class AccountTakeover(_Strict):
    """Bursts of high-value payments from one customer's account, on a new device in another country."""

    share: Probability = Field(0.0, le=0.5, description="fraction of events that belong to such bursts")
    burst_size: tuple[int, int] = Field((3, 8), description="[min, max] events per burst")
    amount: LogNormal = LogNormal(mu=7.0, sigma=0.6)
    decline_rate: Probability = 0.2

    @model_validator(mode="after")
    def _ranges_ordered(self) -> AccountTakeover:
        _check_range("burst_size", self.burst_size)
        return self


def _check_range(name: str, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not 1 <= low <= high:
        raise ValueError(f"{name} must be [min, max] with 1 <= min <= max, got [{low}, {high}]")


class FraudProfile(_Strict):
    card_testing: CardTesting = CardTesting()
    account_takeover: AccountTakeover = AccountTakeover()


class FaultProfile(_Strict):
    """Faults injected on purpose, each as a fraction of the events sent."""

    malformed_rate: Probability = Field(0.0, le=0.5)
    duplicate_rate: Probability = Field(0.0, le=0.5)
    out_of_order_rate: Probability = Field(0.0, le=0.5)
    out_of_order_max_delay: Seconds = Field(120.0, ge=1, le=86_400)


class Profile(_Strict):
    """A load profile (profiles/*.yaml). Mixes are weights: each is normalised to sum to 1."""

    description: str = ""
    rate: EventsPerSecond = Field(description="events/s at the start, and throughout without stages")
    duration: Seconds | None = Field(
        None, description="run length in seconds; default: the stages' total, or 60 without stages"
    )
    stages: list[Stage] = Field(default_factory=list)
    diurnal: list[Annotated[float, Field(ge=0, le=10)]] | None = Field(
        None, min_length=24, max_length=24, description="24 rate multipliers, one per UTC hour of event time"
    )
    payment_types: dict[PaymentTypeName, PaymentTypeProfile] = Field(min_length=1)
    currencies: dict[CurrencyCode, Weight] = Field(min_length=1)
    countries: dict[CountryCode, Weight] = Field(min_length=1)
    merchants: MerchantProfile
    customers: CustomerProfile
    decline_reasons: dict[DeclineReason, Weight] = Field(min_length=1)
    fraud: FraudProfile = FraudProfile()
    faults: FaultProfile = FaultProfile()

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.diurnal is not None and not any(self.diurnal):
            raise ValueError("diurnal multipliers are all 0: nothing would ever be sent")
        if self.fraud.account_takeover.share > 0 and len(self.countries) < 2:
            raise ValueError("account takeover comes from another country: list at least 2 countries")
        return self

    @property
    def planned_duration(self) -> float:
        if self.duration is not None:
            return self.duration
        return sum(stage.duration for stage in self.stages) or 60.0


def normalised(weights: Mapping[str, float]) -> tuple[list[str], list[float]]:
    """Keys in file order and their weights scaled to sum to 1."""
    total = sum(weights.values())
    return list(weights), [weight / total for weight in weights.values()]
