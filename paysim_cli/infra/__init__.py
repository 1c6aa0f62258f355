"""Provision the pipeline's Azure resources with Terraform: plain functions that take Settings first."""

from paysim_cli.infra.operations import (
    apply_saved_plan,
    check_destroy_confirmed,
    destroy,
    init,
    plan,
    read_saved_plan,
    write_connection_profile,
)

__all__ = [
    "apply_saved_plan",
    "check_destroy_confirmed",
    "destroy",
    "init",
    "plan",
    "read_saved_plan",
    "write_connection_profile",
]
