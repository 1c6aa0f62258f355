"""Running a GitHub Actions job's steps on this machine the way the runner does, for the steps that
are `run:` scripts: the same bash (`bash --noprofile --norc -eo pipefail`), `env:` and `if:` with their
expressions evaluated, `$GITHUB_OUTPUT` read back into `steps.ID.outputs`, `$GITHUB_STEP_SUMMARY`
collected. The workflow file is the test's input, so the commands that run are the commands CI runs.

Expressions are a small subset of GitHub's (literals, `inputs.*`, `vars.*`, `steps.ID.outputs.NAME`,
`steps.ID.outcome`, the status functions, `!`, `==`, `!=`, `&&`, `||`, parentheses); anything else is
an error rather than a guess, so a workflow this runner cannot follow fails its test loudly.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<call>[a-z]+\(\))|(?P<name>[A-Za-z_][A-Za-z0-9_.-]*))"
)
_BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


@dataclass
class StepRun:
    id: str
    name: str
    outcome: str  # success, failure or skipped, as `steps.ID.outcome`
    exit_code: int | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class JobRun:
    steps: list[StepRun]
    summary: str
    not_run: list[str]  # `uses:` steps skipped here because they need GitHub (artifact uploads)

    def step(self, step_id: str) -> StepRun:
        return next(step for step in self.steps if step.id == step_id)

    @property
    def failed(self) -> bool:
        return any(step.outcome == "failure" for step in self.steps)

    def outcomes(self) -> dict[str, str]:
        return {step.id: step.outcome for step in self.steps}


@dataclass
class Job:
    """One job of a workflow file: its env and steps, and the steps from a given one on."""

    workflow: dict[str, Any]
    job_id: str

    @classmethod
    def load(cls, path: Path, job_id: str) -> Job:
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")), job_id)

    @property
    def definition(self) -> dict[str, Any]:
        job: dict[str, Any] = self.workflow["jobs"][self.job_id]
        return job

    def steps_from(self, step_id: str) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.definition["steps"]
        start = next(index for index, step in enumerate(steps) if step.get("id") == step_id)
        return steps[start:]


@dataclass
class Contexts:
    inputs: Mapping[str, object]
    vars: Mapping[str, str]
    steps: dict[str, StepRun]
    job_failed: bool = False

    def lookup(self, name: str) -> object:
        parts = name.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs[parts[1]]
        if parts[0] == "vars" and len(parts) == 2:
            return self.vars.get(parts[1], "")
        if parts[0] == "steps" and len(parts) in (3, 4):
            step = self.steps.get(parts[1])
            if parts[2] == "outcome" and len(parts) == 3:
                return step.outcome if step else ""
            if parts[2] == "outputs" and len(parts) == 4:
                return step.outputs.get(parts[3], "") if step else ""
        raise ValueError(f"this runner does not know the context {name!r}")

    def status(self, call: str) -> bool:
        return {
            "success()": not self.job_failed,
            "failure()": self.job_failed,
            "always()": True,
            "cancelled()": False,
        }[call]


def evaluate(expression: str, contexts: Contexts) -> object:
    """The value of one expression (the text inside `${{ }}`)."""
    tokens = _tokens(expression)
    value, rest = _or(tokens, contexts)
    if rest:
        raise ValueError(f"cannot read {expression!r} from {rest[0]!r}")
    return value


def interpolate(text: object, contexts: Contexts) -> str:
    """A string with every `${{ }}` replaced by its value, as GitHub renders one into text."""
    return _EXPRESSION.sub(lambda match: _text(evaluate(match.group(1), contexts)), str(text))


def should_run(step: Mapping[str, Any], contexts: Contexts) -> bool:
    """GitHub's rule: a condition without a status function means `success() && (condition)`."""
    condition = str(step.get("if", "success()")).strip()
    inner = _EXPRESSION.fullmatch(condition)
    expression = inner.group(1) if inner else condition
    if not any(call in expression for call in STATUS_FUNCTIONS):
        expression = f"success() && ({expression})"
    return bool(evaluate(expression, contexts))


def run_steps(
    job: Job,
    steps: list[dict[str, Any]],
    *,
    inputs: Mapping[str, object],
    earlier_steps: Mapping[str, Mapping[str, str]],
    base_env: Mapping[str, str],
    cwd: Path,
    work_dir: Path,
    not_run_here: frozenset[str],
    before_step: Callable[[str], None] = lambda step_id: None,
    timeout: float = 900,
) -> JobRun:
    """Run `steps` of `job` in order; `earlier_steps` are the outputs of the steps before them (run
    elsewhere, all successful). A `uses:` step runs only if its action is in `not_run_here`, as skipped."""
    contexts = Contexts(
        inputs=inputs,
        vars={},
        steps={key: StepRun(key, key, "success", 0, dict(value)) for key, value in earlier_steps.items()},
    )
    env = {**base_env, **_env(job.workflow, contexts), **_env(job.definition, contexts)}
    summary, ran, not_run = "", [], []
    for index, step in enumerate(steps):
        step_id = str(step.get("id") or f"step{index}")
        name = str(step.get("name") or step.get("uses") or step_id)
        if "uses" in step:
            action = str(step["uses"]).split("@")[0]
            assert action in not_run_here, f"{name}: the action {action} cannot run here"
            not_run.append(name)
            continue
        if not should_run(step, contexts):
            contexts.steps[step_id] = StepRun(step_id, name, "skipped")
            ran.append(contexts.steps[step_id])
            continue
        before_step(step_id)
        result, step_summary = _run_script(
            step, step_id, name, {**env, **_env(step, contexts)}, cwd, work_dir, timeout
        )
        summary += step_summary
        contexts.steps[step_id] = result
        contexts.job_failed = contexts.job_failed or result.outcome == "failure"
        ran.append(result)
    return JobRun(ran, summary, not_run)


def _run_script(
    step: Mapping[str, Any],
    step_id: str,
    name: str,
    env: dict[str, str],
    cwd: Path,
    work_dir: Path,
    timeout: float,
) -> tuple[StepRun, str]:
    script = work_dir / f"{step_id}.sh"
    script.write_text(str(step["run"]), encoding="utf-8")
    output, summary = work_dir / f"{step_id}.output", work_dir / f"{step_id}.summary"
    output.write_text("")
    summary.write_text("")
    process = subprocess.run(
        [*_BASH, str(script)],
        cwd=cwd,
        env={**env, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    outcome = "success" if process.returncode == 0 else "failure"
    run = StepRun(step_id, name, outcome, process.returncode, _outputs(output.read_text()), process.stdout)
    return run, summary.read_text()


def _env(node: Mapping[str, Any], contexts: Contexts) -> dict[str, str]:
    return {str(key): interpolate(value, contexts) for key, value in (node.get("env") or {}).items()}


def _outputs(text: str) -> dict[str, str]:
    """`$GITHUB_OUTPUT`'s `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for body in lines:
                if body == delimiter:
                    break
                block.append(body)
            outputs[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        if not match or match.lastgroup is None:
            raise ValueError(f"cannot read {expression!r} at {expression[position:]!r}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


Parsed = tuple[object, list[tuple[str, str]]]


def _or(tokens: list[tuple[str, str]], contexts: Contexts) -> Parsed:
    value, rest = _and(tokens, contexts)
    while rest and rest[0] == ("op", "||"):
        right, rest = _and(rest[1:], contexts)
        value = value or right
    return value, rest


def _and(tokens: list[tuple[str, str]], contexts: Contexts) -> Parsed:
    value, rest = _comparison(tokens, contexts)
    while rest and rest[0] == ("op", "&&"):
        right, rest = _comparison(rest[1:], contexts)
        value = value and right
    return value, rest


def _comparison(tokens: list[tuple[str, str]], contexts: Contexts) -> Parsed:
    left, rest = _unary(tokens, contexts)
    if rest and rest[0] in (("op", "=="), ("op", "!=")):
        right, after = _unary(rest[1:], contexts)
        equal = _text(left) == _text(right)
        return (equal if rest[0][1] == "==" else not equal), after
    return left, rest


def _unary(tokens: list[tuple[str, str]], contexts: Contexts) -> Parsed:
    kind, text = tokens[0]
    if (kind, text) == ("op", "!"):
        value, rest = _unary(tokens[1:], contexts)
        return not value, rest
    if (kind, text) == ("op", "("):
        value, rest = _or(tokens[1:], contexts)
        if not rest or rest[0] != ("op", ")"):
            raise ValueError("unbalanced parentheses")
        return value, rest[1:]
    values: dict[str, Callable[[], object]] = {
        "string": lambda: text[1:-1].replace("''", "'"),
        "number": lambda: float(text),
        "call": lambda: contexts.status(text),
        "name": lambda: (
            {"true": True, "false": False}.get(text) if text in ("true", "false") else contexts.lookup(text)
        ),
    }
    if kind not in values:
        raise ValueError(f"unexpected {text!r}")
    return values[kind](), tokens[1:]
