"""Pure evaluation: probe results -> per-location check state -> quorum -> site level.

Nothing here reads the clock or does I/O: `now` and every input are passed in, and
every output is an immutable value the engine persists.
"""

from monitor.evaluate.baseline import LatencyBaseline, SlowFinding
from monitor.evaluate.canary import Connectivity, assess_connectivity
from monitor.evaluate.checkstate import (
    CheckVerdict,
    LocationState,
    check_verdict,
    confirmations,
    rearm,
    recoveries,
    step,
)
from monitor.evaluate.level import SiteAssessment, site_level
from monitor.evaluate.maintenance import (
    ActiveWindow,
    active_windows,
    in_maintenance,
    maintenance_ended,
)
from monitor.evaluate.site import WarningChanges, assess_site, warning_changes
from monitor.evaluate.vote import Ballot, ballot, voting_verdict

__all__ = [
    "ActiveWindow",
    "Ballot",
    "CheckVerdict",
    "Connectivity",
    "LatencyBaseline",
    "LocationState",
    "SiteAssessment",
    "SlowFinding",
    "WarningChanges",
    "active_windows",
    "assess_connectivity",
    "assess_site",
    "ballot",
    "check_verdict",
    "confirmations",
    "in_maintenance",
    "maintenance_ended",
    "rearm",
    "recoveries",
    "site_level",
    "step",
    "voting_verdict",
    "warning_changes",
]
