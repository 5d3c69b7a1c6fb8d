"""Every role's argument spec documents exactly the variables its defaults define."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"
SPEC_ROLES = sorted(spec.parents[1].name for spec in ROLES.glob("*/meta/argument_specs.yml"))


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's tags (!vault, !unsafe) as plain scalars."""


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    assert isinstance(node, yaml.MappingNode)
    return loader.construct_mapping(node)


_Loader.add_multi_constructor("!", _any_tag)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # _Loader is a SafeLoader


def spec_options(role: str) -> set[str]:
    spec = load_yaml(ROLES / role / "meta" / "argument_specs.yml")
    return set(spec["argument_specs"]["main"].get("options") or {})


def default_keys(role: str) -> set[str]:
    defaults = ROLES / role / "defaults" / "main.yml"
    return set(load_yaml(defaults) or {}) if defaults.is_file() else set()


def test_some_roles_have_specs() -> None:
    assert "lab_settings" in SPEC_ROLES


@pytest.mark.parametrize("role", SPEC_ROLES)
def test_defaults_match_argument_spec(role: str) -> None:
    options, defaults = spec_options(role), default_keys(role)
    assert defaults == options, (
        f"roles/{role}: only in defaults/main.yml: {sorted(defaults - options)}; "
        f"only in meta/argument_specs.yml: {sorted(options - defaults)}"
    )


GROUP_VARS = sorted((REPO / "group_vars" / "all").glob("*.yml"))


def group_vars_knobs() -> set[str]:
    return {key for path in GROUP_VARS for key in load_yaml(path) or {}}


def schema_knobs() -> set[str]:
    schema = load_yaml(ROLES / "lab_settings" / "files" / "settings.schema.yml")
    return set(schema["properties"])


def test_lab_settings_covers_every_knob() -> None:
    """The schema of roles/lab_settings has an entry for every knob of group_vars/all/*.yml."""
    missing = group_vars_knobs() - schema_knobs()
    assert not missing, (
        f"group_vars knobs without an entry in roles/lab_settings/files/settings.schema.yml: {missing}"
    )


def test_the_schema_lists_only_knobs_that_are_defined() -> None:
    defined = group_vars_knobs() | {knob for role in SPEC_ROLES for knob in default_keys(role)}
    assert schema_knobs() <= defined, sorted(schema_knobs() - defined)


def test_each_benchmark_knob_is_defined_once() -> None:
    """The lab_* knobs are play-wide, so group_vars/all/*.yml is their one definition: lab_settings has no
    defaults (and no options in its argument spec), and no role defines a lab_* knob of group_vars again."""
    assert not (ROLES / "lab_settings" / "defaults").exists()
    assert spec_options("lab_settings") == set()
    lab_knobs = {knob for knob in group_vars_knobs() if knob.startswith("lab_")}
    for role in sorted(path.name for path in ROLES.iterdir() if path.is_dir()):
        again = lab_knobs & default_keys(role)
        assert not again, (
            f"roles/{role}/defaults/main.yml defines {sorted(again)} again (group_vars/all has them)"
        )
    for path in GROUP_VARS:
        seen: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            key = line.split(":", 1)[0]
            if line[:1].isalpha() and ":" in line:
                assert key not in seen, f"{path.name} defines {key} twice"
                seen.add(key)
        assert not seen & {k for other in GROUP_VARS if other != path for k in load_yaml(other) or {}}, path


TEARDOWN_ROLES = sorted(path.parents[1].name for path in ROLES.glob("*/tasks/teardown.yml"))


def test_every_tier_role_has_a_teardown() -> None:
    assert TEARDOWN_ROLES == [
        "app_server", "lab_base", "lb", "mariadb", "postgres", "supervisor", "upstream", "wrk_client"
    ]  # fmt: skip


@pytest.mark.parametrize("role", TEARDOWN_ROLES)
def test_the_teardown_entry_point_documents_defaults_as_main_does(role: str) -> None:
    specs = load_yaml(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]
    assert "teardown" in specs, f"roles/{role}: tasks/teardown.yml has no entry point in its argument specs"
    options = specs["teardown"].get("options") or {}
    assert set(options) <= default_keys(role), sorted(set(options) - default_keys(role))
    for name, option in options.items():
        main = specs["main"]["options"][name]
        assert (option["type"], option.get("default")) == (main["type"], main.get("default")), name
