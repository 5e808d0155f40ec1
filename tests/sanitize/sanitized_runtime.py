"""pytest plugin (``-p sanitized_runtime``): run the Python test suites on a
build of the reference runtime instrumented with ASan + UBSan.

.ci/sanitize.sh builds the cffi extension with -fsanitize=address,undefined
into build/sanitize/cffi (never touching the regular build) and points
FIXPOINT_SANITIZED_EXT at it; this plugin loads that file as
``fixpoint.sim._fp_runtime`` and installs it in ``fixpoint.sim.native`` before
any test imports the runtime, so every kernel call of the suites goes through
the instrumented C. The interpreter itself must run with libasan preloaded.
"""

from __future__ import annotations

import importlib.util
import os
import sys

MODULE = "fixpoint.sim._fp_runtime"


def _install() -> None:
    path = os.environ.get("FIXPOINT_SANITIZED_EXT")
    if not path or not os.path.isfile(path):
        raise RuntimeError("FIXPOINT_SANITIZED_EXT must name the sanitized extension (.ci/sanitize.sh sets it)")
    spec = importlib.util.spec_from_file_location(MODULE, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[MODULE] = module
    from fixpoint.sim import native

    native._module = module


_install()


def pytest_report_header(config):
    return f"fixpoint runtime: sanitized build {os.environ['FIXPOINT_SANITIZED_EXT']}"
