"""Build hooks: the cffi runtime extension and the package data.

The runtime sources, code templates and board files live at the top of the
repo; a wheel carries copies under fixpoint/_data/ so an installed fixpoint
can simulate, generate code and build firmware without the checkout.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("runtime", "codegen_templates", "boards")


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        root = Path(__file__).resolve().parent
        for name in DATA_FOLDERS:
            src = root / name
            if src.is_dir():
                dst = Path(self.build_lib) / "fixpoint" / "_data" / name
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.o", "build"))


setup(
    cmdclass={"build_py": BuildPyWithData},
    cffi_modules=["sdk/fixpoint/sim/_build_runtime.py:ffibuilder",
                  "sdk/fixpoint/calibrate/_build_histogram.py:ffibuilder"],
)
