"""Hardware-in-the-loop check: run a plan's firmware on a board, compare with the simulation.

result = run_hil(HilJob(plan=..., board="mps2-an386", x=..., labels=..., model_path=...))
"""

from .check import HilJob, run_hil
from .results import HilResult, OutputCheck, SampleMismatch, write_json, write_junit

__all__ = ["HilJob", "HilResult", "OutputCheck", "SampleMismatch", "run_hil", "write_json", "write_junit"]
