"""Read and check scenario files; build the Library (with generated magic-number rules).

Each problem names its file, line and key path (``rules[0].script[1].status``). A file is
checked against the shipped JSON Schema (``scenario.schema.json``, its enums filled from
the OpenAPI document) and, in the same run, for what a schema cannot say: regular
expressions compile, error codes exist in x-errors (or come with a reason), placeholders
are known, scenario and rule names are unique. Nothing is half-loaded: one problem
anywhere and the whole load fails.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from . import placeholders
from .resources import data_dir
from .scenarios import Library, Matcher, Rule, Scenario, ScenarioError, Script, scenario_files
from .spec import ErrorCode, Spec
from .validation import dotted
from .versions.v1_document import load_v1

SCHEMA_PATH = Path(__file__).with_name("scenario.schema.json")


@dataclass(frozen=True)
class FileProblem:
    """One problem in one scenario file, where it is."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


# the schema --------------------------------------------------------------------------


def scenario_schema(spec: Spec) -> dict[str, Any]:
    """The shipped JSON Schema with its 'from the spec' enums filled from the document."""
    schema = copy.deepcopy(base_schema())
    v1 = load_v1().message_schemas  # v1's channels (rcs, email, viber_service…) and types
    enums = {
        "status": spec.enum("MessageStatus", "status"),
        "channel": (*spec.enum("ToProperty", "type"), *v1),
        "content_type": (
            *spec.enum("MessageProperty", "content", "type"),
            *(kind for kinds in v1.values() for kind in kinds),
        ),
        "inbound_type": spec.enum("InboundMessage", "message", "content", "type"),
    }
    for name, values in enums.items():
        schema["$defs"][name]["enum"] = list(dict.fromkeys(values))
    return schema


@cache
def base_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


# reading with line numbers -----------------------------------------------------------


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None, list[FileProblem]]:
    """The document, its node tree (for line numbers), or the problem that stopped reading."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as exc:
        return None, None, [FileProblem(str(path), None, "", exc.strerror or str(exc))]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, None, [FileProblem(str(path), line, "", f"not valid YAML: {exc.problem}")]
    return data, node, []


def line_of(node: yaml.Node | None, path: Iterable[Any]) -> int | None:
    """The line of the value at ``path`` (or of the nearest parent that exists)."""
    if node is None:
        return None
    for key in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            break
        node = child
    return node.start_mark.line + 1


# checks ------------------------------------------------------------------------------


Catalogues = Mapping[str, Mapping[int, ErrorCode]]  # API version -> its x-errors


def check_data(
    data: Any, spec: Spec, validator: Draft202012Validator, known: frozenset[int] = frozenset()
) -> list[tuple[list[Any], str]]:
    """(path, message) for every problem of one file's data: the schema's and the rest, at once."""
    problems = [(list(e.absolute_path), schema_message(e)) for e in validator.iter_errors(data)]
    if not isinstance(data, dict):
        return problems or [([], "a scenario file is a mapping (name, rules…)")]
    return problems + list(semantic_problems(data, known or frozenset(spec.errors)))


def schema_message(error: Any) -> str:
    """The schema's own description of the alternatives, else jsonschema's closest reason."""
    if error.validator in ("anyOf", "oneOf") and error.schema.get("description"):
        return f"{error.instance!r} is not valid: must be {error.schema['description']}"
    best = error
    while best.context:
        best = min(best.context, key=lambda e: len(e.context or ()))
        if len(best.absolute_path) < len(error.absolute_path):
            break
    return best.message if best is not error else error.message


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else empty: the schema reports the wrong shape."""
    return value if isinstance(value, dict) else {}


def sequence(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def semantic_problems(
    data: dict[str, Any], known: frozenset[int]
) -> Iterator[tuple[list[Any], str]]:
    """What a schema cannot say; safe on data the schema refused (wrong shapes are skipped)."""
    rules = sequence(data.get("rules"))
    yield from duplicate_rule_names(rules)
    for r, rule in enumerate(map(mapping, rules)):
        for key, spec_value in mapping(rule.get("match")).items():
            yield from pattern_problems(["rules", r, "match", key], spec_value)
        stages = sequence(rule.get("scripts")) or [rule]
        for s, stage in enumerate(map(mapping, stages)):
            base = ["rules", r] + (["scripts", s] if "scripts" in rule else [])
            for i, step in enumerate(sequence(stage.get("script"))):
                yield from step_problems([*base, "script", i], mapping(step), known)
        for s, stage in enumerate(sequence(rule.get("scripts"))[:-1]):
            if "times" not in mapping(stage):
                yield ["rules", r, "scripts", s], "needs 'times' (only the last stage may omit it)"


def duplicate_rule_names(rules: list[Any]) -> Iterator[tuple[list[Any], str]]:
    """Two rules of one scenario with one name would share their per-recipient counters."""
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        name = str(mapping(rule).get("name", f"rule-{index + 1}"))
        if name in seen:
            yield ["rules", index, "name"], f"{name!r} is already the name of rules[{seen[name]}]"
        seen.setdefault(name, index)


def pattern_problems(path: list[Any], value: Any) -> Iterator[tuple[list[Any], str]]:
    for index, item in enumerate(value if isinstance(value, list) else [value]):
        if isinstance(item, dict) and isinstance(item.get("pattern"), str):
            try:
                re.compile(item["pattern"])
            except re.error as exc:
                where = [*path, index] if isinstance(value, list) else path
                yield [*where, "pattern"], f"not a valid regular expression: {exc}"


def step_problems(
    path: list[Any], step: dict[str, Any], known: frozenset[int]
) -> Iterator[tuple[list[Any], str]]:
    error = step.get("error")
    code = error.get("code") if isinstance(error, dict) else error
    has_reason = isinstance(error, dict) and error.get("reason")
    is_code = isinstance(code, int) and not isinstance(code, bool)
    if is_code and code not in known and not has_reason:
        yield [*path, "error"], f"{code} is not an x-errors code of the spec; give a reason with it"
    for where, text in strings(mapping(step.get("inbound")), [*path, "inbound"]):
        for name in placeholders.names_in(text):
            if name not in placeholders.MESSAGE_PLACEHOLDERS and not is_faker_method(name):
                yield where, f"unknown placeholder {{{{{name}}}}}"


def strings(value: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(item, [*path, key])


def is_faker_method(name: str) -> bool:
    method = placeholders.faker_method(name)
    return method is not None and callable(getattr(faker_instance(), method, None))


@cache
def faker_instance() -> Any:
    """One Faker for every placeholder check (building one costs ~50 ms)."""
    from faker import Faker

    return Faker()


def check_files(
    paths: Iterable[str | Path], spec: Spec, catalogues: Catalogues | None = None
) -> tuple[list[Scenario], list[FileProblem]]:
    """Every scenario of the files, and every problem found in them.

    ``catalogues`` are the x-errors of each API version (default: the spec's, as v0.1's);
    generated magic recipients come from each, one per code, same numbering, and a
    message finds those of its own API version. A script's error code may come from any.
    """
    catalogues = catalogues or {"v0.1": spec.errors}
    known = frozenset(code for catalogue in catalogues.values() for code in catalogue)
    scenarios: list[Scenario] = []
    problems: list[FileProblem] = []
    seen: dict[str, str] = {}
    validator = Draft202012Validator(scenario_schema(spec))  # once, not once a file
    for path in scenario_files(paths):
        data, node, read_problems = read_yaml(path)
        problems += read_problems
        if read_problems:
            continue
        found = check_data(data, spec, validator, known)
        in_file = [FileProblem(str(path), line_of(node, p), dotted(p), m) for p, m in found]
        problems += sorted(in_file, key=lambda problem: problem.line or 0)
        if found:
            continue
        scenario = build_scenario(data, str(path), path.stem, catalogues)
        if scenario.name in seen:
            problems.append(
                FileProblem(
                    str(path),
                    line_of(node, ["name"]),
                    "name",
                    f"{scenario.name!r} is already defined in {seen[scenario.name]}",
                )
            )
        seen[scenario.name] = str(path)
        scenarios.append(scenario)
    return scenarios, problems


def load_library(
    user_paths: Iterable[str | Path], spec: Spec, catalogues: Catalogues | None = None
) -> Library:
    """User scenario files first (in the order given), then the built-in ones; all or nothing."""
    scenarios, problems = check_files([*user_paths, data_dir("scenarios")], spec, catalogues)
    if problems:
        raise ScenarioError([str(p) for p in problems])
    return Library(scenarios)


# building ----------------------------------------------------------------------------


def build_scenario(
    data: dict[str, Any], source: str, default_name: str, catalogues: Catalogues
) -> Scenario:
    name = str(data.get("name", default_name))
    rules = tuple(build_rule(name, i, rule) for i, rule in enumerate(data.get("rules") or []))
    generated = (
        {version: generate(name, data["generate"], c) for version, c in catalogues.items()}
        if "generate" in data
        else {}
    )
    return Scenario(
        name=name,
        description=" ".join(str(data.get("description", "")).split()),
        select=str(data.get("select", "always")),
        fallback=bool(data.get("fallback", False)),
        rules=rules,
        index=generated,
        source=source,
    )


def build_rule(scenario: str, index: int, data: dict[str, Any]) -> Rule:
    stages = data.get("scripts") or [{k: data[k] for k in ("script", "answer") if k in data}]
    return Rule(
        scenario=scenario,
        name=str(data.get("name", f"rule-{index + 1}")),
        matcher=Matcher.of(data.get("match")),
        scripts=tuple(
            Script(tuple(s.get("script", ())), s.get("answer"), s.get("times")) for s in stages
        ),
    )


def generate(
    scenario: str, settings: dict[str, Any], catalogue: Mapping[int, ErrorCode]
) -> dict[str, Rule]:
    """Rules by exact recipient: prefix + each x-errors code, or prefix + each HTTP error."""
    make = error_code_script if settings["kind"] == "x-errors" else http_status_script
    codes = catalogue if settings["kind"] == "x-errors" else http_error_statuses()
    index = {}
    for code in codes:
        recipient = (
            f"{settings['prefix']}{code:04d}"
            if settings["kind"] == "x-errors"
            else (f"{settings['prefix']}{code:03d}")
        )
        index[recipient] = Rule(scenario, str(code), Matcher(), (make(code, settings),))
    return index


def implied_status(code: int, settings: dict[str, Any]) -> str:
    """The status an x-errors code comes with: submitted, undeliverable or rejected."""
    if code in settings.get("stays_submitted", ()):
        return "submitted"
    if code in settings.get("undeliverable", ()):
        return "undeliverable"
    if code in settings.get("rejected", ()):
        return "rejected"
    return settings.get("status", "rejected")


def error_code_script(code: int, settings: dict[str, Any]) -> Script:
    """submitted (charged unless not_charged), then the implied status with the error."""
    after = float(settings.get("after", 1))
    submitted: dict[str, Any] = {"status": "submitted", "after": 0.5}
    if code not in settings.get("not_charged", ()):
        submitted["usage"] = "auto"
    failing = {"status": implied_status(code, settings), "error": code, "after": after}
    return Script((submitted, failing))


def http_error_statuses() -> list[int]:
    return [s.value for s in HTTPStatus if 400 <= s.value <= 599]


def http_status_script(status: int, settings: dict[str, Any]) -> Script:
    """No 202 and no webhooks: the POST itself answers this status."""
    answer: dict[str, Any] = {"status": status}
    if status in (429, 503):
        answer["headers"] = {"Retry-After": str(settings.get("retry_after", 1))}
    return Script((), answer)
