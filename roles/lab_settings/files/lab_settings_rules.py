"""The validation of the lab's settings: the schema (files/settings.schema.yml) and the rules across knobs.

The action roles/lab_settings/action_plugins/lab_settings_validate.py renders the knobs of one host and calls
settings_problems(); everything it decides is here, as pure functions over plain values:

    profile_problems(profile, profiles)     lab_profile names a preset of lab_profiles (checked first: the
                                            level and duration knobs are rendered from that preset)
    schema_problems(settings, host)         each knob against its entry in the schema: type, range, choices
    rule_problems(settings, host)           the rules that span knobs, apps and the inventory
    settings_problems(settings, host)       both, in that order; [] when every setting is good

Every message names the variable and its value (a secret only by its length) and says what is allowed.
Values given with -e k=v arrive as strings: a knob the schema types as an integer or a boolean is converted
first, as Ansible's own argument validation would accept it.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Loaded by path from the action plugin; the shared checkers live in the tier roles and in playbooks/ (the
# filter plugins there are modules of no package, as Ansible loads them).
_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO, _REPO / "playbooks" / "filter_plugins"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from lab_address import lab_ip_problem as lab_ip_problem  # noqa: E402

from labcore import test_types  # noqa: E402
from roles.app_server.filter_plugins.app_server_matrix import app_server_matrix_errors  # noqa: E402
from roles.postgres.filter_plugins.postgres_settings import (  # noqa: E402
    postgres_settings_problems as postgres_settings_problems,
)

SCHEMA_PATH = _REPO / "roles" / "lab_settings" / "files" / "settings.schema.yml"
POSTGRES_DEFAULTS = _REPO / "roles" / "postgres" / "defaults" / "main.yml"
PRESET_KEYS = (
    "duration_s", "primer_duration_s", "warmup_duration_s", "pause_s", "concurrency_levels",
    "pipeline_concurrency_levels", "query_levels",
)  # fmt: skip
# The knobs rendered from lab_profiles[lab_profile] in group_vars/all/benchmark.yml.
PRESET_KNOBS = tuple(f"lab_{key}" for key in PRESET_KEYS)
# The app_server_* knobs of the server matrix, by the key app_server_matrix_errors() takes them under.
MATRIX_KNOBS = {
    "app_server_server": "server",
    "app_server_worker_class": "worker_class",
    "app_server_workers": "workers",
    "app_server_threads": "threads",
    "app_server_nginx": "nginx",
    "app_server_db_pool_size": "db_pool_size",
    "app_server_framework_settings": "framework_settings",
}
TIER_GROUPS = ("db", "app", "client")
APP_PORT_DEFAULT = 8080  # roles/app_server/defaults/main.yml, for an inventory that does not set it
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_TYPE_NAMES = {
    "integer": "an integer",
    "boolean": "a boolean",
    "string": "a string",
    "array": "a list",
    "object": "a dict",
}


@dataclass(frozen=True)
class Host:
    """What the rules know about the host they check: its name and groups, the inventory, the apps."""

    name: str
    groups: Sequence[str] = ()
    inventory: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # {framework: its manifest, apps/<name>/lab.yml}, every app on the controller.
    apps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    apps_dir: str = "apps"


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))
    # The allowed test types are the registry's, read here rather than copied into the schema file, so a new
    # type is one entry in labcore/test_types.py.
    entry = loaded["properties"]["lab_test_types"]
    entry["items"]["enum"] = test_types.names()
    entry["x-allowed"] = f"test types ({', '.join(test_types.names())})"
    return loaded


def knob_schema(name: str) -> dict[str, Any]:
    """The schema entry of a knob with its $ref resolved (its own keywords win over the referenced ones)."""
    return _resolve(schema()["properties"][name])


def _resolve(node: Mapping[str, Any]) -> dict[str, Any]:
    node = dict(node)
    while "$ref" in node:
        ref = node.pop("$ref")
        target: Any = schema()
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **node}
    return node


def knobs(*, checked_by: str | None = None) -> list[str]:
    """The knobs of the schema, in its order; checked_by: only those whose table that role filter owns."""
    return [
        name
        for name, entry in schema()["properties"].items()
        if checked_by is None or entry.get("x-checked-by") == checked_by
    ]


def groups_of(name: str) -> list[str] | None:
    """The inventory groups whose hosts the knob applies to; None: every host."""
    groups = schema()["properties"][name].get("x-groups")
    return list(groups) if groups else None


def _show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# ------------------------------------------------------------------------------------------ conversion


def coerce(value: Any, node: Mapping[str, Any]) -> Any:
    """value with the strings that -e k=v gives converted where the schema wants an integer or a boolean."""
    node = _resolve(node)
    kind = node.get("type")
    if kind == "integer" and isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
        return int(value)
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if kind == "array" and isinstance(value, list) and "items" in node:
        return [coerce(item, node["items"]) for item in value]
    if kind == "object" and isinstance(value, dict):
        properties = node.get("properties", {})
        extra = node.get("additionalProperties")
        return {
            key: coerce(item, properties[key])
            if key in properties
            else coerce(item, extra)
            if isinstance(extra, dict)
            else item
            for key, item in value.items()
        }
    return value


# ------------------------------------------------------------------------------------------ the schema

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("lab-ip-address", raises=ValueError)
def _is_lab_ip_address(value: object) -> bool:
    problem = lab_ip_problem(value)
    if problem:
        raise ValueError(problem)
    return True


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    validator: jsonschema.protocols.Validator = cls(schema(), format_checker=_FORMATS)
    return validator


def _range(node: Mapping[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    text = f"{low}..{high}" if high is not None else f"{low} or more" if low is not None else "any integer"
    return f"{text} ({node['x-why']})" if "x-why" in node else text


def allowed(node: Mapping[str, Any]) -> str:
    """What a node of the schema allows, in words."""
    node = _resolve(node)
    if "x-allowed" in node:
        # A list's x-allowed describes its items.
        return ("a list of " if node.get("type") == "array" else "") + str(node["x-allowed"])
    if "enum" in node:
        return ", ".join(str(choice) for choice in node["enum"])
    kind = node.get("type")
    if kind == "integer":
        return _range(node)
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        return "a list of " + allowed(node.get("items", {}))
    return _TYPE_NAMES.get(str(kind), "a value")


def _name(path: Sequence[Any]) -> str:
    text = str(path[0])
    for part in path[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _where(name: str, host: Host) -> str:
    entry = schema()["properties"][name]
    return f" on {host.name}" if entry.get("x-groups") or entry.get("x-per-host") else ""


def _duplicates(values: Iterable[Any]) -> list[str]:
    seen: list[str] = []
    dups: list[str] = []
    for value in values:
        text = _show(value)
        if text in seen and text not in dups:
            dups.append(text)
        seen.append(text)
    return dups


def _message(error: jsonschema.ValidationError, settings: Mapping[str, Any], host: Host) -> str:
    path = list(error.absolute_path)
    knob = str(path[0])
    where = _where(knob, host)
    entry = knob_schema(knob)
    node: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    keyword = error.validator
    instance: Any = error.instance
    if entry.get("x-secret"):
        value = instance
        size = f"{len(value)} characters long" if isinstance(value, str) else "not a string"
        return f"{knob}{where} is {size}; allowed: {allowed(entry)}."
    if len(path) > 1 and isinstance(path[-1], int):
        return _item_message(error, settings, host)
    # The knob's entry says what is allowed (its keywords beside a $ref included); a key of a dict its own.
    here = entry if len(path) == 1 else node
    shown = f"{_name(path)}={_show(error.instance)}{where}"
    if keyword == "type":
        return (
            f"{shown} is not {_TYPE_NAMES.get(str(node.get('type')), 'allowed')}; allowed: {allowed(here)}."
        )
    if keyword in ("minimum", "maximum"):
        return f"{shown} is out of range; allowed: {_range(node)}."
    if keyword == "enum":
        return f"{shown} is unknown; allowed: {allowed(node)}."
    if keyword == "format":
        return f"{shown} {error.cause}; allowed: {allowed(here)}."
    if keyword == "minItems":
        return f"{shown} is empty; allowed: a non-empty {allowed(here).removeprefix('a ')}."
    if keyword == "minProperties":
        return f"{shown} is empty; allowed: {allowed(here)}."
    if keyword == "uniqueItems":
        dups = ", ".join(_duplicates(instance))
        return f"{shown} has {dups} more than once; allowed: each value at most once."
    if keyword == "required":
        missing = [key for key in node["required"] if key not in instance]
        return f"{shown} is missing required arguments: {', '.join(missing)}; allowed: {allowed(here)}."
    if keyword == "additionalProperties":
        known = list(node.get("properties", {}))
        unknown = ", ".join(str(key) for key in instance if key not in known)
        return f"{shown} has the unknown key(s) {unknown}; allowed: {', '.join(known)}."
    return f"{shown} is not {here.get('x-what', 'allowed here')}; allowed: {allowed(here)}."


def _item_message(error: jsonschema.ValidationError, settings: Mapping[str, Any], host: Host) -> str:
    """One item of a list is wrong: the message shows the whole list, as it was given."""
    path = list(error.absolute_path)
    knob = str(path[0])
    node: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    whole = f"{_name(path[:-1])}={_show(_at(settings, path[:-1]))}{_where(knob, host)}"
    shown = f"{whole} has {_show(error.instance)}"
    item = _items_schema(knob, path[1:-1])
    keyword = error.validator
    if keyword == "type":
        kind = _TYPE_NAMES.get(str(node.get("type")), "allowed")
        return f"{shown}, which is not {kind}; allowed: {allowed(item)}."
    if keyword == "format":
        return f"{shown}, which {error.cause}; allowed: {allowed(item)}."
    if keyword == "enum":
        return f"{shown}, which is unknown; allowed: {allowed(node)}."
    if keyword in ("minimum", "maximum"):
        side = "below" if keyword == "minimum" else "above"
        return f"{shown}, {side} {error.validator_value}; allowed: {_range(node)}."
    return f"{shown}, which is not allowed; allowed: {allowed(item)}."


def _at(settings: Mapping[str, Any], path: Sequence[Any]) -> Any:
    value: Any = settings
    for part in path:
        value = value[part]
    return value


def _items_schema(knob: str, path: Sequence[Any]) -> dict[str, Any]:
    """The schema node of the items of the list at path (relative to the knob)."""
    node = knob_schema(knob)
    for part in path:
        if isinstance(part, int):
            node = _resolve(node.get("items", {}))
        else:
            node = _resolve(node.get("properties", {}).get(part, {}))
    return _resolve(node.get("items", {}))


def schema_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    """Each knob of settings against its schema entry (knobs checked by a role's filter are not in it)."""
    order = {name: index for index, name in enumerate(knobs())}
    checked = {name: value for name, value in settings.items() if name in order}
    errors = sorted(
        _validator().iter_errors(checked), key=lambda e: (order[str(e.absolute_path[0])], str(list(e.path)))
    )
    messages: list[str] = []
    for error in errors:
        message = _message(error, checked, host)
        if message not in messages:
            messages.append(message)
    return messages


# ------------------------------------------------------------------------------------------ the rules


def profile_problems(profile: Any, profiles: Any) -> list[str]:
    """lab_profiles is a dict of presets and lab_profile names one that has every setting."""
    if not isinstance(profiles, Mapping) or not profiles:
        return [
            f"lab_profiles={_show(profiles)} is not a dict of presets; allowed:"
            f" {allowed(knob_schema('lab_profiles'))}."
        ]
    if not isinstance(profile, str) or profile not in profiles:
        return [
            f"lab_profile={_show(profile)} is not a preset; allowed: {', '.join(sorted(profiles))}"
            " (the presets in lab_profiles)."
        ]
    preset = profiles[profile]
    missing = [key for key in PRESET_KEYS if not isinstance(preset, Mapping) or key not in preset]
    if missing:
        return [
            f"lab_profiles.{profile}={_show(preset)} lacks {', '.join(missing)}; allowed: a dict with"
            f" {', '.join(PRESET_KEYS)}."
        ]
    return []


def _framework_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    known = sorted(host.apps)
    problems = []
    frameworks = settings.get("lab_frameworks", [])
    unknown = [name for name in frameworks if name not in host.apps]
    if unknown:
        problems.append(
            f"lab_frameworks={_show(frameworks)}: {', '.join(unknown)} has no {host.apps_dir}/<name>/lab.yml;"
            f" allowed: {', '.join(known)}."
        )
        return problems
    mode = settings.get("lab_db_mode")
    unsupported = {
        name: host.apps[name].get("db_modes", [])
        for name in frameworks
        if mode not in host.apps[name].get("db_modes", [])
    }
    if mode is not None and unsupported:
        only = "; ".join(f"{name} only {', '.join(modes) or 'none'}" for name, modes in unsupported.items())
        problems.append(
            f"lab_db_mode={mode} is not supported by {', '.join(unsupported)}"
            f" (lab_frameworks={_show(frameworks)}); allowed: {only} (db_modes in apps/<name>/lab.yml);"
            " change lab_db_mode or drop the framework."
        )
    return problems + _engine_problems(settings, host)


def _engine_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    """Every framework deployed has a driver for each engine of lab_db_engine (db_engines in its lab.yml): an
    app without one could not open its pools, so the engine is refused before any host changes, never half
    provisioned."""
    engine = settings.get("lab_db_engine")
    engines = str(engine).split(",")
    frameworks = list(settings.get("lab_frameworks", []))
    deployed = settings.get("app_server_frameworks")
    if isinstance(deployed, list):
        frameworks += [name for name in deployed if name not in frameworks]
    lacking = {
        name: host.apps[name].get("db_engines", [])
        for name in frameworks
        if name in host.apps and not set(engines) <= set(host.apps[name].get("db_engines", []))
    }
    if engine is None or not lacking:
        return []
    only = "; ".join(f"{name} only {', '.join(known) or 'none'}" for name, known in lacking.items())
    missing = " or ".join(e for e in engines if any(e not in known for known in lacking.values()))
    return [
        f"lab_db_engine={engine} is not supported by {', '.join(lacking)} (they have no {missing} driver yet;"
        f" frameworks deployed: {_show(frameworks)}); allowed: {only} (db_engines in"
        f" {host.apps_dir}/<name>/lab.yml, docs/mysql.md)."
    ]


def _matrix_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {key: settings[knob] for knob, key in MATRIX_KNOBS.items() if knob in settings}


def _matrix_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    """The server matrix (roles/app_server's own checks) for lab_frameworks and for every sweep entry."""
    if "app" not in host.groups or any(name not in host.apps for name in settings.get("lab_frameworks", [])):
        return []
    matrix = _matrix_settings(settings)
    known = sorted(host.apps)
    problems = app_server_matrix_errors(settings.get("lab_frameworks", []), host.apps, matrix, known)
    names: list[str] = []
    for index, entry in enumerate(settings.get("lab_scenario_sweep") or []):
        where = f"lab_scenario_sweep[{index}]"
        if entry["name"] in names:
            problems.append(f"{where}.name={_show(entry['name'])} is used twice; allowed: a unique name.")
        names.append(entry["name"])
        unknown = [name for name in entry["frameworks"] if name not in host.apps]
        if unknown:
            problems.append(
                f"{where}.frameworks={_show(entry['frameworks'])}: {', '.join(unknown)} has no app; allowed:"
                f" {', '.join(known)}."
            )
            continue
        # The entry's own settings over each framework's defaults: a global knob set for a benchmark of other
        # frameworks does not make an entry wrong.
        sweep = {"framework_settings": entry.get("settings", {})}
        problems += [
            f"{where} ({entry['name']}): {error}"
            for error in app_server_matrix_errors(entry["frameworks"], host.apps, sweep, known)
        ]
    return problems


# The knob of each engine's port on the db host.
DB_PORT_KNOBS = {"postgres": "postgres_port", "mysql": "mariadb_port"}


def _tier_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    problems = []
    app_port = settings.get("app_server_port", APP_PORT_DEFAULT)
    engines = str(settings.get("lab_db_engine") or "postgres").split(",")
    db_ports = [DB_PORT_KNOBS[engine] for engine in engines if engine in DB_PORT_KNOBS]
    if "db" in host.groups and len(db_ports) == 2 and settings.get(db_ports[0]) == settings.get(db_ports[1]):
        problems.append(
            f"{db_ports[0]}={settings[db_ports[0]]} and {db_ports[1]}={settings[db_ports[1]]} on {host.name},"
            f" which runs both engines of lab_db_engine={settings['lab_db_engine']}; allowed: two different"
            " ports."
        )
    for db_port in db_ports:
        if {"db", "app"} <= set(host.groups) and settings.get(db_port) == app_port:
            problems.append(
                f"{db_port}={settings[db_port]} and app_server_port={app_port} on {host.name},"
                " which is in both the db and the app group; allowed: two different ports."
            )
    if "upstream_port" in settings and settings["upstream_port"] == app_port and "app" in host.groups:
        problems.append(
            f"upstream_port={settings['upstream_port']} on {host.name} is app_server_port; allowed: a port"
            " other than app_server_port."
        )
    if "lb" in host.groups and "lb_port" in settings:
        # The balancer's nginx and the host's other servers would all bind the lab address.
        taken = {"app_server_port": app_port} if "app" in host.groups else {}
        if "upstream_port" in settings and {"app", "upstream"} & set(host.groups):
            taken["upstream_port"] = settings["upstream_port"]
        for knob, port in taken.items():
            if settings["lb_port"] == port:
                problems.append(
                    f"lb_port={settings['lb_port']} on {host.name} is {knob}, which this host serves too;"
                    f" allowed: a port other than {knob}."
                )
    if "app" in host.groups:
        deployed = settings.get("app_server_frameworks")
        frameworks = settings.get("lab_frameworks", [])
        if isinstance(deployed, list):
            missing = [name for name in frameworks if name not in deployed]
            if missing:
                problems.append(
                    f"app_server_frameworks={_show(deployed)} on {host.name} does not deploy"
                    f" {', '.join(missing)} of lab_frameworks={_show(frameworks)}; allowed: a list holding"
                    " every framework of lab_frameworks (by default it is lab_frameworks)."
                )
        # The app tier's copies of the run's db knobs: the run records one value and deploys with the other.
        engine = settings.get("lab_db_engine")
        for copy, knob, expected, why in (
            ("app_server_db_mode", "lab_db_mode", settings.get("lab_db_mode"), "which the results record"),
            (
                "app_server_db_engines",
                "lab_db_engine",
                str(engine).split(",") if engine is not None else None,
                "which chooses the db roles",
            ),
        ):
            value = settings.get(copy)
            if value is not None and value != expected:
                problems.append(
                    f"{copy}={_show(value)} on {host.name} differs from {knob}={_show(settings.get(knob))},"
                    f" {why}; allowed: the same value (set {knob}: {copy} follows it)."
                )
    return problems


def _scale_out_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    counts = settings.get("lab_app_host_counts") or []
    if not counts:
        return []
    app_hosts = len(host.inventory.get("app", ()))
    if not host.inventory.get("lb"):
        return [
            f"lab_app_host_counts={_show(counts)} needs a balancer: the inventory has no host in group lb;"
            " allowed: [] without an lb group (inventory/example-lb.yml has one)."
        ]
    over = [count for count in counts if count > app_hosts]
    if over:
        return [
            f"lab_app_host_counts={_show(counts)} asks for {', '.join(map(str, over))} app host(s), but the"
            f" inventory's app group has {app_hosts}; allowed: counts 1..{app_hosts}."
        ]
    return []


def _inventory_problems(host: Host) -> list[str]:
    empty = [group for group in TIER_GROUPS if not host.inventory.get(group)]
    if not empty:
        return []
    groups = {name: list(hosts) for name, hosts in host.inventory.items() if name not in ("all", "ungrouped")}
    return [
        f"The inventory has no hosts in group(s) {', '.join(empty)} (groups: {_show(groups)}); required: at"
        f" least one host in each of {', '.join(TIER_GROUPS)}."
    ]


def _postgres_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    if "db" not in host.groups:
        return []
    mine = {name: settings[name] for name in knobs(checked_by="postgres_settings") if name in settings}
    return [f"{problem} (db host {host.name})" for problem in postgres_settings_problems(mine)]


def rule_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    """The rules across knobs, for settings that passed the schema."""
    return (
        _framework_problems(settings, host)
        + _matrix_problems(settings, host)
        + _tier_problems(settings, host)
        + _postgres_problems(settings, host)
        + _scale_out_problems(settings, host)
        + _inventory_problems(host)
    )


def settings_problems(settings: Mapping[str, Any], host: Host) -> list[str]:
    """Every problem of one host's settings; the rules across knobs only once each knob has passed the schema.

    settings: the rendered knobs ({name: value}); knobs that do not apply to the host's groups are left out.
    """
    problems = profile_problems(settings.get("lab_profile"), settings.get("lab_profiles"))
    if problems:
        return problems
    converted = {
        name: coerce(value, schema()["properties"][name]) if name in schema()["properties"] else value
        for name, value in settings.items()
    }
    return schema_problems(converted, host) or rule_problems(converted, host)
