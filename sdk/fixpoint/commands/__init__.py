"""Subcommands of the ``fixpoint`` command, one module each (``register(subparsers)``)."""

from . import (
    boards_cmd,
    calibrate_cmd,
    codegen_cmd,
    deploy_cmd,
    eval_cmd,
    export_cmd,
    farm_cmd,
    hil_cmd,
    ops_cmd,
    simulate_cmd,
)

COMMANDS = [
    calibrate_cmd,
    eval_cmd,
    simulate_cmd,
    codegen_cmd,
    hil_cmd,
    deploy_cmd,
    ops_cmd,
    boards_cmd,
    farm_cmd,
    export_cmd,
]
