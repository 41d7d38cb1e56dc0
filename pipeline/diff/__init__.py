"""The policy diff: what changed in what a policy covers, at what dose, under which limits.

`diff_snapshots` is pure (facts aligned in `align`, the text safety net in `textual`); `snapshot`, `diff_between`, `write_changes` and `diff_version` read from and
write to the warehouse.
"""

from pipeline.diff.align import fold
from pipeline.diff.compare import (
    POLICY_SECTION,
    diff_snapshots,
    format_dose,
    format_threshold,
    same_criterion,
)
from pipeline.diff.facts import (
    CHANGE_TYPES,
    CriterionFact,
    DoseFact,
    IndicationFact,
    PolicyChange,
    PolicySnapshot,
    ThresholdFact,
    snapshot_of,
)
from pipeline.diff.store import diff_between, diff_version, rediff_lcd, snapshot, write_changes

__all__ = [
    "CHANGE_TYPES",
    "POLICY_SECTION",
    "CriterionFact",
    "DoseFact",
    "IndicationFact",
    "PolicyChange",
    "PolicySnapshot",
    "ThresholdFact",
    "diff_between",
    "diff_snapshots",
    "diff_version",
    "format_dose",
    "fold",
    "format_threshold",
    "rediff_lcd",
    "same_criterion",
    "snapshot",
    "snapshot_of",
    "write_changes",
]
