"""A config's policies with their business clocks: the engine's handle on SLA clocks."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from monitor.config.records import Calendar, Config, Policy
from monitor.model import Level
from monitor.policy.calendar import BusinessClock, BusinessClocks, require_aware
from monitor.policy.sla import Sla, open_sla, page_due_at


class Contracts:
    """Policies by name, each with its calendar's business clock. Build one per config.

    `respond_by` matches the incidents layer's `RespondBy` seam
    (`Rules(respond_by=contracts.respond_by)`).
    """

    __slots__ = ("_clocks", "_policies")

    def __init__(self, policies: Mapping[str, Policy], calendars: Mapping[str, Calendar]) -> None:
        self._policies = dict(policies)
        self._clocks = BusinessClocks(calendars)

    @classmethod
    def from_config(cls, config: Config) -> Contracts:
        return cls(config.policies, config.calendars)

    def policy(self, name: str) -> Policy:
        """The policy called `name`; KeyError when there is none."""
        return self._policies[name]

    def clock(self, policy_name: str) -> BusinessClock:
        """The business clock of the policy's calendar."""
        return self._clocks[self._policies[policy_name].calendar]

    def sla(self, policy_name: str, level: Level, opened_at: datetime) -> Sla:
        """The SLA of an incident of `level` opened at `opened_at`."""
        return open_sla(self.policy(policy_name), level, opened_at, self.clock(policy_name))

    def respond_by(self, policy_name: str, level: Level, at: datetime) -> datetime | None:
        """The respond-by deadline of `level` counted from `at` (UTC); None when the policy
        or the level is unknown (no contract, no deadline)."""
        policy = self._policies.get(policy_name)
        if policy is None or level not in policy.levels:
            return None
        return self.sla(policy_name, level, at).respond_by

    def paging_starts(self, policy_name: str, level: Level, opened_at: datetime) -> datetime | None:
        """When paging starts for a new incident (`page: business_hours` waits for the
        opening); None for `page: never`. Unknown policy or level: at once."""
        policy = self._policies.get(policy_name)
        if policy is None or level not in policy.levels:
            return require_aware(opened_at, "opened_at")
        return page_due_at(policy.levels[level], self.clock(policy_name), opened_at)
