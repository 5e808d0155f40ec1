"""Mixed precision under a budget (``fixpoint calibrate --budget``): see :mod:`fixpoint.mixed.search`."""

from .costs import INSTRUCTIONS_PER_MAC, Budget, BudgetError, Costs, parse_budget, plan_costs
from .search import MixedResult, choose_mixed_precision

__all__ = [
    "Budget",
    "BudgetError",
    "Costs",
    "INSTRUCTIONS_PER_MAC",
    "MixedResult",
    "choose_mixed_precision",
    "parse_budget",
    "plan_costs",
]
