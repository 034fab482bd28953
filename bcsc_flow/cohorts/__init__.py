"""Specimen cohorts: call each specimen positive or negative, then compare cohorts' rates.

This is the clinical half of Duru et al. 2012 (HER2/CD44 co-expression in 22 of 26
recurrent vs 8 of 14 primary tumours; DOMAIN §1.8). Here the specimen *is* the unit, so a
2×2 table of specimens is the right data for Fisher's exact test.

* A :class:`Rule` (or :class:`AllOf` / :class:`AnyOf` of rules) says when a specimen is
  positive. Rules are plain data: :func:`parse_rule` reads a dict (YAML/JSON), a compact
  string ``"HER2+ BCSC:pct_of_parent>=1"`` or a list (all must hold), and ``to_dict`` writes
  them back, so a template can carry them.
* :func:`call_specimens` applies a rule to a ``populations`` table: one row per specimen
  with the call and the value(s) that drove it.
* :func:`compare_cohorts` compares the positive rate of each cohort with a reference cohort.

Example
-------
>>> rule = parse_rule("HER2+ BCSC:pct_of_parent>=1")
>>> rule.to_dict()
{'population': 'HER2+ BCSC', 'metric': 'pct_of_parent', 'op': '>=', 'threshold': 1.0}
"""

from bcsc_flow.cohorts._rates import compare_cohorts
from bcsc_flow.cohorts._rules import AllOf, AnyOf, Rule, RuleLike, call_specimens, parse_rule

__all__ = [
    "AllOf",
    "AnyOf",
    "Rule",
    "RuleLike",
    "call_specimens",
    "compare_cohorts",
    "parse_rule",
]
