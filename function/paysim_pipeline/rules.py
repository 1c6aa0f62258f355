"""Rule-based dynamic metrics: a YAML rules file, validated at load, evaluated on whole columns.

A rule selects events (`where`), groups them by window and `group_by` fields, and gives every group an
additive value and sample count (docs/pipeline.md lists the forms). A rule with a `threshold` also
counts, in a second metric, the groups whose value reaches `at_least` within their window; the
PostgreSQL sink finds those crossings exactly, across batches, in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import orjson
import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from paysim_pipeline.contract import currency_exponents, enum_values, event_schema
from paysim_pipeline.metrics import Groups, window_index
from paysim_pipeline.normalize import BOOLEANS, CATEGORIES, EXTRA_CATEGORIES, NUMBERS, EventColumns
from paysim_pipeline.yaml_nodes import child_node

if TYPE_CHECKING:
    import numpy.typing as npt

    BoolArray = npt.NDArray[np.bool_]

MetricName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]
Category = str | None


class RulesError(ValueError):
    """A rules file that cannot be used: the message names the file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberRange(_Strict):
    """Bounds on a number field; every bound given must hold."""

    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> NumberRange:
        if self.gt is None and self.gte is None and self.lt is None and self.lte is None:
            raise ValueError("give at least one of gt, gte, lt, lte")
        return self

    def holds(self, values: npt.NDArray[np.float64]) -> BoolArray:
        mask = np.ones(len(values), dtype=np.bool_)
        for bound, compare in (
            (self.gt, np.greater),
            (self.gte, np.greater_equal),
            (self.lt, np.less),
            (self.lte, np.less_equal),
        ):
            if bound is not None:
                mask &= compare(values, bound)
        return mask


# A category field: one value or a list (null matches JSON null); is_fraud: true or false; a number field:
# a NumberRange. _parse_filter checks which form each field takes, with messages a union cannot give.
Condition = bool | Category | list[Category] | NumberRange


def _allowed_values(name: str) -> frozenset[str | None] | None:
    """The values a category field can take, where the contract lists them (None: JSON null)."""
    if name in ("payment_type", "channel", "status"):
        return frozenset(enum_values(name))
    if name in ("decline_reason", "fraud_scenario"):
        return frozenset((*enum_values(name), None))
    if name == "currency":
        return frozenset(currency_exponents())
    if name == "card_brand":
        card = next(
            option for option in event_schema()["properties"]["card"]["oneOf"] if "properties" in option
        )
        return frozenset((*card["properties"]["brand"]["enum"], None))
    return None


def _parse_filter(conditions: object) -> dict[str, Condition]:
    if not isinstance(conditions, dict):
        raise ValueError("conditions are a mapping of field: value")
    parsed: dict[str, Condition] = {}
    for name, condition in conditions.items():
        if name in NUMBERS:
            if not isinstance(condition, dict):
                raise ValueError(f"{name} takes bounds, e.g. {{gte: 100}}")
            try:
                parsed[name] = NumberRange.model_validate(condition)
            except ValidationError as error:
                detail = error.errors()[0]
                raise ValueError(f"{name}: {str(detail['msg']).removeprefix('Value error, ')}") from None
        elif name in BOOLEANS:
            if not isinstance(condition, bool):
                raise ValueError(f"{name} is true or false")
            parsed[name] = condition
        elif name in CATEGORIES:
            values = condition if isinstance(condition, list) else [condition]
            if not all(value is None or isinstance(value, str) for value in values):
                raise ValueError(f"{name} takes a value or a list of values")
            allowed = _allowed_values(name)
            unknown = [value for value in values if allowed is not None and value not in allowed]
            if unknown:
                choices = ", ".join(sorted(str(value) for value in allowed or ()))
                raise ValueError(f"{name} cannot be {unknown[0]!r}: one of {choices}")
            parsed[name] = condition
        else:
            raise ValueError(
                f"unknown field {name!r}: one of {', '.join((*CATEGORIES, *NUMBERS, *BOOLEANS))}"
            )
    return parsed


Filter = Annotated[dict[str, Condition], BeforeValidator(_parse_filter)]


class RatioOf(_Strict):
    """value = events also matching these conditions; sample_count = events matching `where`."""

    ratio_of: Filter


class SumOf(_Strict):
    """value = sum of the field over the events matching `where`; sample_count = their number."""

    sum_of: Literal["amount_minor"]


class Threshold(_Strict):
    """Count, in metric `metric`, the groups whose count reaches `at_least` within their window."""

    metric: MetricName
    at_least: int = Field(ge=1)


def _parse_value(value: object) -> Literal["count"] | RatioOf | SumOf:
    try:
        if value == "count":
            return "count"
        if isinstance(value, dict) and "ratio_of" in value:
            return RatioOf.model_validate(value)
        if isinstance(value, dict) and "sum_of" in value:
            return SumOf.model_validate(value)
    except ValidationError as error:
        detail = error.errors()[0]
        location = ".".join(str(part) for part in detail["loc"])
        raise ValueError(f"{location}: {str(detail['msg']).removeprefix('Value error, ')}") from None
    raise ValueError("value is count, {ratio_of: {field: value, ...}} or {sum_of: amount_minor}")


class MetricRule(_Strict):
    name: MetricName
    description: str = ""
    window_seconds: int | None = Field(None, gt=0, le=86400)
    where: Filter = Field(default_factory=dict)
    group_by: list[str] = Field(default_factory=list)
    value: Annotated[Literal["count"] | RatioOf | SumOf, BeforeValidator(_parse_value)] = "count"
    threshold: Threshold | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MetricRule:
        for name in self.group_by:
            if name not in CATEGORIES:
                raise ValueError(f"cannot group by {name!r}: one of {', '.join(CATEGORIES)}")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by names a field twice")
        if self.threshold is not None and self.value != "count":
            raise ValueError("a threshold needs value: count")
        return self

    def fields(self) -> set[str]:
        conditions = {**self.where, **(self.value.ratio_of if isinstance(self.value, RatioOf) else {})}
        return {*conditions, *self.group_by}


class RulesFile(_Strict):
    version: Literal[1]
    metrics: list[MetricRule]

    @model_validator(mode="after")
    def _unique_names(self) -> RulesFile:
        names = [rule.name for rule in self.metrics]
        names += [rule.threshold.metric for rule in self.metrics if rule.threshold is not None]
        duplicate = next((name for name in names if names.count(name) > 1), None)
        if duplicate is not None:
            raise ValueError(f"metric name {duplicate!r} is used twice")
        return self


@dataclass(slots=True)
class DynamicMetricRows:
    """Rows for dynamic_metrics; a row with a threshold also feeds its rule's threshold metric."""

    metric_name: list[str] = field(default_factory=list)
    window_start_s: list[int] = field(default_factory=list)
    window_seconds: list[int] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)  # JSON objects
    value: list[int] = field(default_factory=list)
    sample_count: list[int] = field(default_factory=list)
    threshold_metric: list[str | None] = field(default_factory=list)
    threshold: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.metric_name)


class RuleSet:
    """The loaded rules, ready to evaluate batch after batch."""

    def __init__(self, rules: Sequence[MetricRule], default_window_seconds: int) -> None:
        self.rules = tuple(rules)
        self.default_window_seconds = default_window_seconds
        self.extra_fields = frozenset(
            name for rule in rules for name in rule.fields() if name in EXTRA_CATEGORIES
        )

    def evaluate(self, events: EventColumns) -> DynamicMetricRows:
        rows = DynamicMetricRows()
        for rule in self.rules:
            self._evaluate(rule, events, rows)
        return rows

    def _evaluate(self, rule: MetricRule, events: EventColumns, rows: DynamicMetricRows) -> None:
        selected = _matching(rule.where, events)
        if not selected.any():
            return
        chosen = events if selected.all() else events.take(selected.nonzero()[0])
        window_seconds = rule.window_seconds or self.default_window_seconds
        windows = window_index(chosen.event_ms, window_seconds)
        groups = Groups.of([windows, *(chosen.factors[name].codes for name in rule.group_by)])
        samples = groups.count()
        if isinstance(rule.value, RatioOf):
            values = groups.sum(_matching(rule.value.ratio_of, chosen))
        elif isinstance(rule.value, SumOf):
            values = groups.sum(chosen.amount_minor)
        else:
            values = samples
        labels = [groups.categories(chosen.factors[name]).labels() for name in rule.group_by]
        size = len(groups)
        rows.metric_name += [rule.name] * size
        rows.window_start_s += (windows[groups.first] * window_seconds).tolist()
        rows.window_seconds += [window_seconds] * size
        if rule.group_by:
            rows.dimensions += [_dimensions(rule.group_by, group) for group in zip(*labels, strict=True)]
        else:
            rows.dimensions += ["{}"] * size
        rows.value += values.tolist()
        rows.sample_count += samples.tolist()
        rows.threshold_metric += [rule.threshold.metric if rule.threshold else None] * size
        rows.threshold += [rule.threshold.at_least if rule.threshold else None] * size


def _dimensions(names: Sequence[str], values: Sequence[Hashable]) -> str:
    return orjson.dumps(dict(zip(names, values, strict=True)), option=orjson.OPT_SORT_KEYS).decode()


def _matching(conditions: Filter, events: EventColumns) -> BoolArray:
    mask = np.ones(len(events), dtype=np.bool_)
    for name, condition in conditions.items():
        if isinstance(condition, NumberRange):
            mask &= condition.holds(events.number(name))
        elif name in BOOLEANS:
            mask &= events.is_fraud == condition
        else:
            factor = events.factors[name]
            wanted = condition if isinstance(condition, list) else [condition]
            mask &= np.isin(factor.codes, factor.codes_of(wanted))
    return mask


def load_rules(path: Path, default_window_seconds: int) -> RuleSet:
    """Parse and validate a rules file; the first problem becomes a RulesError naming its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesError(f"{path}: cannot be read: {error}") from error
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        at = f":{mark.line + 1}" if mark is not None else ""
        raise RulesError(f"{path}{at}: not valid YAML: {error.problem or error.context}") from error
    if root is None or not isinstance(document, dict):
        raise RulesError(f"{path}:1: a rules file is a mapping with `version: 1` and `metrics: [...]`")
    try:
        rules = RulesFile.model_validate(_categories_as_text(document))
    except ValidationError as error:
        first = error.errors()[0]
        line, location = _locate(root, first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        more = error.error_count() - 1
        suffix = f" ({more} more problem{'s' if more > 1 else ''})" if more else ""
        raise RulesError(f"{path}:{line}: {location}: {message}{suffix}") from error
    return RuleSet(rules.metrics, default_window_seconds)


def _categories_as_text(document: object) -> object:
    """YAML reads `merchant_category: 5411` as a number; category values are text."""
    if isinstance(document, dict):
        return {
            key: str(value)
            if key in CATEGORIES and isinstance(value, int) and not isinstance(value, bool)
            else _categories_as_text(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [_categories_as_text(value) for value in document]
    return document


_FIELD_NAMES = frozenset(
    name
    for model in (RulesFile, MetricRule, RatioOf, SumOf, Threshold, NumberRange)
    for name in model.model_fields
)


def _locate(root: yaml.Node, loc: Sequence[int | str]) -> tuple[int, str]:
    """The line of the YAML node a pydantic error location points at, and the location as a path.

    Parts naming no node (union branches such as `RatioOf`, a missing field) are left out of the walk;
    a missing field's name still ends the path.
    """
    node, line, path = root, root.start_mark.line + 1, ""
    for part in loc:
        child = child_node(node, part)
        if child is None:
            if part in _FIELD_NAMES:
                path += f".{part}"
            continue
        key, node = child
        line = key.start_mark.line + 1
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return line, path.lstrip(".") or "rules"
