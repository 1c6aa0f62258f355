"""The Terraform tree, read with python-hcl2: typed and described variables, complete module calls,
thin identical environment roots, names from the naming module and common tags on every taggable resource,
and the provider facts `terraform validate` cannot check here (the azurerm floor, host storage identity,
role names, zone balancing, the containers in use, who owns which app setting)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
import pytest

TERRAFORM = Path(__file__).resolve().parents[3] / "terraform"
MODULES = sorted(path for path in (TERRAFORM / "modules").iterdir() if path.is_dir())
ENVIRONMENTS = ("dev", "staging", "production")
ENVIRONMENT_DIRS = [TERRAFORM / "environments" / env for env in ENVIRONMENTS]
FUNCTION_APP = TERRAFORM / "modules" / "function_app"
PIPELINE = TERRAFORM / "modules" / "pipeline"
FUNCTION_SOURCES = Path(__file__).resolve().parents[3] / "function"
AZURERM_PIN = "~> 4.58"
# Child resources and assignments that Azure does not tag.
NOT_TAGGABLE = frozenset(
    {
        "azurerm_eventhub",
        "azurerm_eventhub_consumer_group",
        "azurerm_storage_container",
        "azurerm_postgresql_flexible_server_database",
        "azurerm_postgresql_flexible_server_active_directory_administrator",
        "azurerm_postgresql_flexible_server_firewall_rule",
        "azurerm_role_assignment",
        "azurerm_monitor_diagnostic_setting",
    }
)
_META_ARGUMENTS = frozenset({"source", "version", "providers", "depends_on", "count", "for_each"})
# Alerts come in families and are named for what they watch, even when one is alone of its type.
# Files a module has beyond the standard four, each for one feature.
EXTRA_FILES = {"monitoring": ("pipeline_alerts.tf",)}
ALERT_TYPES = frozenset({"azurerm_monitor_metric_alert", "azurerm_monitor_scheduled_query_rules_alert_v2"})
# Module arguments that name Azure resources: the pipeline takes every one from the naming module.
NAME_ARGUMENTS = frozenset(
    {
        "name",
        "service_plan_name",
        "log_analytics_workspace_name",
        "application_insights_name",
        "action_group_name",
        "alert_name_prefix",
        "diagnostic_setting_name",
    }
)


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass
class Configuration:
    """The blocks of every .tf file in one directory."""

    directory: Path
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)


def load(directory: Path) -> Configuration:
    configuration = Configuration(directory)
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            document = hcl2.load(handle)
        for block in document.get("variable", []):
            configuration.variables.update({unquote(name): body for name, body in block.items()})
        for block in document.get("resource", []):
            for resource_type, instances in block.items():
                for name, body in instances.items():
                    configuration.resources.append((unquote(resource_type), unquote(name), body))
        for block in document.get("module", []):
            configuration.modules.update({unquote(name): body for name, body in block.items()})
        for block in document.get("output", []):
            configuration.outputs.update({unquote(name): body for name, body in block.items()})
        for block in document.get("locals", []):
            configuration.locals.update(block)
        configuration.terraform.extend(document.get("terraform", []))
    return configuration


def load_tfvars(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return {name: _plain(value) for name, value in hcl2.load(handle).items() if not name.startswith("__")}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(key): _plain(item) for key, item in value.items() if not key.startswith("__")}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return unquote(value)


def required_attributes(type_expression: str) -> set[str]:
    """The attributes of an object type that are not optional(...), at the top level only."""
    if not type_expression.startswith("${object({"):
        return set()
    body = type_expression.removeprefix("${object({").removesuffix("})}")
    attributes, depth, current = [], 0, ""
    for character in body:
        depth += character in "({["
        depth -= character in ")}]"
        if character == "," and depth == 0:
            attributes.append(current)
            current = ""
        else:
            current += character
    attributes.append(current)
    pairs = (attribute.split("=", 1) for attribute in attributes if "=" in attribute)
    return {name.strip() for name, value in pairs if not value.strip().startswith("optional(")}


def _azurerm_pin(configuration: Configuration) -> str | None:
    for block in configuration.terraform:
        for providers in block.get("required_providers", []):
            if "azurerm" in providers:
                return str(unquote(providers["azurerm"]["version"]))
    return None


ALL_DIRS = [*MODULES, *ENVIRONMENT_DIRS]


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_every_module_has_the_standard_files(module: Path) -> None:
    assert {path.name for path in module.glob("*.tf")} == {
        "main.tf",
        "variables.tf",
        "outputs.tf",
        "versions.tf",
        *EXTRA_FILES.get(module.name, ()),
    }


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda path: path.name)
def test_every_variable_is_typed_and_described(directory: Path) -> None:
    configuration = load(directory)

    for name, body in configuration.variables.items():
        assert "type" in body, f"{directory.name}: variable {name} has no type"
        assert unquote(body.get("description", "")).strip(), (
            f"{directory.name}: variable {name} has no description"
        )


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda path: path.name)
def test_terraform_and_azurerm_are_pinned(directory: Path) -> None:
    configuration = load(directory)

    assert any("required_version" in block for block in configuration.terraform)
    if directory.name == "naming":  # pure expressions: no provider at all
        assert _azurerm_pin(configuration) is None
    else:
        assert _azurerm_pin(configuration) == AZURERM_PIN


@pytest.mark.parametrize("module", MODULES, ids=lambda path: path.name)
def test_a_single_resource_of_a_type_is_named_this(module: Path) -> None:
    configuration = load(module)
    names_by_type: dict[str, list[str]] = {}
    for resource_type, name, _ in configuration.resources:
        names_by_type.setdefault(resource_type, []).append(name)

    for resource_type, names in names_by_type.items():
        if len(names) == 1 and resource_type not in ALERT_TYPES:
            assert names == ["this"], f"{module.name}: {resource_type}.{names[0]} should be named this"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda path: path.name)
def test_module_calls_pass_every_required_variable_and_nothing_unknown(directory: Path) -> None:
    configuration = load(directory)

    for call, arguments in configuration.modules.items():
        called = load((directory / unquote(arguments["source"])).resolve())
        required = {name for name, body in called.variables.items() if "default" not in body}
        passed = {argument for argument in arguments if not argument.startswith("__")} - _META_ARGUMENTS
        assert required <= passed, f"{directory.name}: module {call} misses {sorted(required - passed)}"
        assert passed <= set(called.variables), f"{directory.name}: module {call} passes unknown arguments"


def test_environment_roots_are_thin_and_identical() -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        contents = {(directory / name).read_text(encoding="utf-8") for directory in ENVIRONMENT_DIRS}
        assert len(contents) == 1, f"environments differ in {name}: only terraform.tfvars and backend.hcl may"
    for directory in ENVIRONMENT_DIRS:
        files = {path.name for path in directory.iterdir() if not path.name.startswith(".")}
        assert files == {
            "main.tf",
            "variables.tf",
            "outputs.tf",
            "versions.tf",
            "terraform.tfvars",
            "backend.hcl",
        }
        assert list(load(directory).modules) == ["pipeline"]
    environment = load(ENVIRONMENT_DIRS[0])
    pipeline = load(TERRAFORM / "modules" / "pipeline")
    assert set(environment.variables) == set(pipeline.variables)


@pytest.mark.parametrize("directory", ENVIRONMENT_DIRS, ids=lambda path: path.name)
def test_every_environment_sets_its_required_variables(directory: Path) -> None:
    configuration = load(directory)
    tfvars = load_tfvars(directory / "terraform.tfvars")
    required = {name for name, body in configuration.variables.items() if "default" not in body}

    assert required <= set(tfvars), f"{directory.name} misses {sorted(required - set(tfvars))}"
    assert set(tfvars) <= set(configuration.variables)
    for name, value in tfvars.items():
        missing = required_attributes(configuration.variables[name]["type"]) - set(value)
        assert not missing, f"{directory.name}: {name} misses {sorted(missing)}"
    assert tfvars["environment"] == directory.name


def test_sizes_grow_from_dev_to_production() -> None:
    sizes = {env: load_tfvars(TERRAFORM / "environments" / env / "terraform.tfvars") for env in ENVIRONMENTS}
    for group, key in [
        ("eventhub", "capacity"),
        ("eventhub", "partition_count"),
        ("eventhub", "message_retention_days"),
        ("storage", "soft_delete_retention_days"),
        ("postgresql", "storage_mb"),
        ("postgresql", "backup_retention_days"),
        ("function_app", "maximum_instance_count"),
        ("monitoring", "retention_in_days"),
    ]:
        dev, staging, production = (sizes[env][group][key] for env in ENVIRONMENTS)
        assert dev <= staging <= production, f"{group}.{key}: {dev}, {staging}, {production}"
        assert dev < production, f"{group}.{key} does not grow"


def test_each_environment_has_its_own_remote_state() -> None:
    keys = {env: load_tfvars(TERRAFORM / "environments" / env / "backend.hcl")["key"] for env in ENVIRONMENTS}

    assert keys == {env: f"paysim/{env}.tfstate" for env in ENVIRONMENTS}
    for directory in ENVIRONMENT_DIRS:
        (backend,) = [block["backend"] for block in load(directory).terraform if "backend" in block]
        assert backend[0]['"azurerm"']["use_azuread_auth"] is True


def test_every_taggable_resource_gets_the_common_tags() -> None:
    pipeline = load(TERRAFORM / "modules" / "pipeline")
    assert pipeline.locals["tags"] == "${module.naming.tags}"

    for module in MODULES:
        configuration = load(module)
        expected = "${local.tags}" if module.name == "pipeline" else "${var.tags}"
        for resource_type, name, body in configuration.resources:
            if resource_type in NOT_TAGGABLE:
                assert "tags" not in body, f"{resource_type} is listed as not taggable"
            else:
                assert body.get("tags") == expected, (
                    f"{module.name}: {resource_type}.{name} lacks the common tags"
                )
        if configuration.resources and module.name != "pipeline":
            assert "default" not in configuration.variables["tags"], f"{module.name}: tags must be required"

    for call, arguments in pipeline.modules.items():
        called = load((pipeline.directory / unquote(arguments["source"])).resolve())
        if "tags" in called.variables:
            assert arguments["tags"] == "${local.tags}", f"module {call} does not get the common tags"


def test_names_come_from_the_naming_module() -> None:
    pipeline = load(TERRAFORM / "modules" / "pipeline")
    assert pipeline.locals["names"] == "${module.naming.names}"
    (resource_group,) = [body for kind, _, body in pipeline.resources if kind == "azurerm_resource_group"]
    assert resource_group["name"] == "${local.names.resource_group}"

    for call, arguments in pipeline.modules.items():
        for argument in NAME_ARGUMENTS & set(arguments):
            assert "local.names." in arguments[argument], (
                f"module {call}: {argument} bypasses the naming module"
            )
    for module in MODULES:
        if module.name == "pipeline":  # checked above: its resource group is named by the naming module
            continue
        for resource_type, name, body in load(module).resources:
            if "name" in body:
                assert "var." in body["name"] or body["name"] == "${each.key}", (
                    f"{module.name}: {resource_type}.{name} hard-codes its name"
                )


def _expressions(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _expressions(item)]
    if isinstance(value, list):
        return [text for item in value for text in _expressions(item)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda path: path.name)
def test_every_reference_resolves(directory: Path) -> None:
    """What `terraform validate` would check first, without the azurerm provider it cannot download here."""
    configuration = load(directory)
    bodies = [
        *configuration.variables.values(),
        *configuration.modules.values(),
        *configuration.locals.values(),
        *configuration.outputs.values(),
        *(body for _, _, body in configuration.resources),
    ]
    text = "\n".join(expression for body in bodies for expression in _expressions(body))
    resources = {(kind, name) for kind, name, _ in configuration.resources}
    outputs_of = {
        call: set(load((directory / unquote(arguments["source"])).resolve()).outputs)
        for call, arguments in configuration.modules.items()
    }

    assert set(re.findall(r"\bvar\.(\w+)", text)) <= set(configuration.variables)
    assert set(re.findall(r"\blocal\.(\w+)", text)) <= set(configuration.locals)
    for call, output in re.findall(r"\bmodule\.(\w+)\.(\w+)", text):
        assert output in outputs_of[call], f"{directory.name}: module.{call}.{output} does not exist"
    for kind, name in re.findall(r"(?<![.\w])(azurerm_\w+)\.(\w+)", text):
        assert (kind, name) in resources, f"{directory.name}: {kind}.{name} is not declared"


def _resource(configuration: Configuration, resource_type: str) -> dict[str, Any]:
    (body,) = [body for kind, _, body in configuration.resources if kind == resource_type]
    return body


def _function_app_settings(environment: str) -> dict[str, Any]:
    """The environment's `function_app` object, with the pipeline variable's optional(...) defaults."""
    declared = load(PIPELINE).variables["function_app"]["type"]
    defaults = {
        name: json.loads(value)
        for name, value in re.findall(r"(\w+)\s*=\s*optional\(\w+,\s*([^)]+)\)", declared)
    }
    tfvars = load_tfvars(TERRAFORM / "environments" / environment / "terraform.tfvars")
    chosen: dict[str, Any] = tfvars.get("function_app", {})
    return defaults | chosen


# The Flex Consumption app's `maximum_instance_count` in the provider's source (terraform-provider-azurerm,
# internal/services/appservice/function_app_flex_consumption_resource.go): IntBetween(40, 1000) up to v4.57.0,
# IntBetween(1, 1000) from v4.58.0 (commit 1edd328e5f, #31392) to v4.81.0. (first version, lowest, highest)
FLEX_MAXIMUM_INSTANCE_COUNT = (((4, 0), 40, 1000), ((4, 58), 1, 1000))


def _pessimistic_floor(constraint: str) -> tuple[int, int]:
    match = re.fullmatch(r"~>\s*(\d+)\.(\d+)", constraint)
    assert match, f"{constraint}: pin azurerm as ~> MAJOR.MINOR so a major version never arrives unreviewed"
    return int(match[1]), int(match[2])


def test_the_azurerm_floor_accepts_every_flex_instance_ceiling() -> None:
    """The oldest provider the pin allows must accept our values: 4.55-4.57 refuse dev's 4 and staging's 8."""
    (pin,) = {_azurerm_pin(load(directory)) for directory in ALL_DIRS if directory.name != "naming"}
    floor = _pessimistic_floor(str(pin))
    lowest, highest = next(
        (lowest, highest)
        for since, lowest, highest in reversed(FLEX_MAXIMUM_INSTANCE_COUNT)
        if floor >= since
    )
    flex = {env: _function_app_settings(env) for env in ENVIRONMENTS}
    flex = {env: settings for env, settings in flex.items() if settings["hosting_plan"] == "flex_consumption"}

    assert flex, "no environment runs on Flex Consumption"
    for environment, settings in flex.items():
        assert lowest <= settings["maximum_instance_count"] <= highest, (
            f"{environment}: azurerm {pin} allows {floor[0]}.{floor[1]}.0, which accepts "
            f"maximum_instance_count {lowest}-{highest}, not {settings['maximum_instance_count']}"
        )


def test_flex_host_storage_is_reached_with_the_identity_only() -> None:
    """No keyed AzureWebJobsStorage: the storage account refuses shared keys.

    The provider writes `AzureWebJobsStorage = "...;AccountKey=;..."` on every create and update of a Flex
    app whatever `storage_authentication_type` says (provider issue #29693), drops that exact name on read,
    and lets a user setting whose name matches it ignoring case replace it (helpers.MergeUserAppSettings).
    So the module blanks it under the lower-case name, which the read keeps: a blank that stays in state,
    not a perpetual diff (#33211) nor, with ignore_changes, the keyed value back on an update (#30732).
    """
    module = load(FUNCTION_APP)
    flex = _resource(module, "azurerm_function_app_flex_consumption")
    premium = _resource(module, "azurerm_linux_function_app")
    shared = _plain(module.locals["host_storage_settings"])
    flex_only = _plain(module.locals["flex_host_storage_settings"])

    assert unquote(flex["storage_authentication_type"]) == "SystemAssignedIdentity"
    assert "storage_access_key" not in flex
    assert premium["storage_uses_managed_identity"] is True
    assert "storage_account_access_key" not in premium
    assert shared == {"AzureWebJobsStorage__credential": "managedidentity"}
    assert flex_only == {
        "AzureWebJobsStorage__accountName": "${var.storage_account_name}",
        "azurewebjobsstorage": "",
    }
    app_settings = module.locals["app_settings"]
    assert "local.host_storage_settings" in app_settings
    assert "local.flex ? local.flex_host_storage_settings : {}" in app_settings
    texts = [text for _, _, body in module.resources for text in _expressions(_plain(body))]
    texts += _expressions(_plain(module.locals)) + _expressions(_plain(load(PIPELINE).modules))
    assert not [text for text in texts if "AccountKey" in text or "SharedAccessKey" in text]


# Microsoft Learn, "Connecting to host storage with an identity" (azure-docs,
# includes/functions-azurewebjobsstorage-permissions.md): host storage needs Storage Blob Data Owner, and so
# do the Event Hubs trigger's checkpoints and leases ("no change from default requirement"); Storage Table
# Data Contributor lets the host persist its diagnostic events. The trigger's own connection needs Azure
# Event Hubs Data Receiver (includes/functions-event-hubs-permissions.md); Entra ingestion into Application
# Insights needs Monitoring Metrics Publisher. Blob Data Owner also covers the package and raw-events.
FUNCTION_ROLES = {
    ("Azure Event Hubs Data Receiver", "${var.eventhub_id}"),
    ("Storage Blob Data Owner", "${var.storage_account_id}"),
    ("Storage Table Data Contributor", "${var.storage_account_id}"),
    ("Monitoring Metrics Publisher", "${var.application_insights_id}"),
}


def test_the_app_identity_gets_the_roles_microsoft_lists() -> None:
    module = load(FUNCTION_APP)
    assignments = _plain(module.locals["role_assignments"])
    (role_assignment,) = [body for kind, _, body in module.resources if kind == "azurerm_role_assignment"]

    assert {(item["role"], item["scope"]) for item in assignments.values()} == FUNCTION_ROLES
    assert role_assignment["for_each"] == "${local.role_assignments}"
    assert role_assignment["role_definition_name"] == "${each.value.role}"


def test_zone_balancing_sets_a_worker_count_of_at_least_two() -> None:
    """The provider enables zone balancing only with `worker_count` above 1 (the app's floor is not it)."""
    module = load(FUNCTION_APP)
    plan = _resource(module, "azurerm_service_plan")
    worker_count = module.variables["worker_count"]
    conditions = [unquote(rule["condition"]) for rule in worker_count.get("validation", [])]
    passed = load(PIPELINE).modules["function_app"]

    assert plan["worker_count"] == "${local.flex ? null : var.worker_count}"
    assert plan["zone_balancing_enabled"] == "${local.flex ? false : var.zone_balancing_enabled}"
    assert any(
        "var.zone_balancing_enabled" in text and "var.worker_count >= 2" in text for text in conditions
    )
    assert passed["worker_count"] == "${var.function_app.worker_count}"
    for environment in ENVIRONMENTS:
        settings = _function_app_settings(environment)
        if settings["hosting_plan"] == "elastic_premium" and settings["zone_balancing_enabled"]:
            assert settings["worker_count"] >= 2, environment
            assert settings["worker_count"] <= settings["maximum_instance_count"], environment


def test_every_storage_container_is_used_by_the_stack() -> None:
    """No container nothing reads: the trigger and the CLI create their own checkpoint containers."""
    storage = load(TERRAFORM / "modules" / "storage_account")
    pipeline_text = "\n".join(_expressions(load(PIPELINE).modules) + _expressions(load(PIPELINE).outputs))
    container_outputs = {name for name in storage.outputs if name.endswith("_container_name")}
    declared = set(re.findall(r"var\.(\w+_container_name)", storage.locals["containers"]))

    assert declared == container_outputs
    for output in container_outputs:
        assert f"module.storage_account.{output}" in pipeline_text, f"nothing uses the {output} container"
    assert not any("checkpoint" in name for name in storage.variables), "the checkpoints container is unused"


def _ignored_app_settings(body: dict[str, Any]) -> list[str]:
    ignored = [text for block in body.get("lifecycle", []) for text in block.get("ignore_changes", [])]
    names = [re.fullmatch(r'\$\{app_settings\["(\w+)"\]\}', text) for text in ignored]
    assert all(names), f"ignore_changes must list app settings by name, not {ignored}"
    return sorted(match[1] for match in names if match)


def release_setting_names() -> list[str]:
    """The app settings `paysim function deploy` owns (ADR 0012), as the function_app module lists them."""
    return sorted(unquote(name) for name in load(FUNCTION_APP).locals["release_setting_names"])


def terraform_setting_names() -> set[str]:
    """Every app setting Terraform writes: the module's own maps and the pipeline's PAYSIM_* settings."""
    module = load(FUNCTION_APP)
    names = {
        name
        for local in ("connection_settings", "host_storage_settings", "flex_host_storage_settings")
        for name in _plain(module.locals[local])
    }
    return names | set(_plain(load(PIPELINE).modules["function_app"]["app_settings"]))


def test_terraform_ignores_exactly_the_release_settings_on_both_plans() -> None:
    module = load(FUNCTION_APP)
    release = release_setting_names()

    assert release, "the function_app module lists no release settings"
    for resource_type in ("azurerm_function_app_flex_consumption", "azurerm_linux_function_app"):
        assert _ignored_app_settings(_resource(module, resource_type)) == release, resource_type
    assert not {name.lower() for name in terraform_setting_names()} & {name.lower() for name in release}
    assert "release_setting_names" in module.outputs
    assert load(ENVIRONMENT_DIRS[0]).outputs["function_release_setting_names"]["value"] == (
        "${module.pipeline.function_release_setting_names}"
    )


def test_every_setting_the_function_reads_has_one_owner() -> None:
    """A new PAYSIM_* setting in the function must be given to Terraform or to `paysim function`."""
    read = {
        name
        for path in FUNCTION_SOURCES.rglob("*.py")
        for name in re.findall(r"\bPAYSIM_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    owned = terraform_setting_names() | set(release_setting_names())

    # A connection string with an account key: local runs only, never set in Azure.
    assert read - owned == {"PAYSIM_BLOB_CONNECTION_STRING"}
