"""The simulated and hostile target fleet (`vakt demo`, tests, benchmarks)."""

from monitor.demo.targets.certs import CertFactory, CertKind
from monitor.demo.targets.dns import DnsServer, Zone
from monitor.demo.targets.fleet import DOMAIN, HostileFleet
from monitor.demo.targets.http import HttpTarget, SiteMode, SiteState

__all__ = [
    "DOMAIN",
    "CertFactory",
    "CertKind",
    "DnsServer",
    "HostileFleet",
    "HttpTarget",
    "SiteMode",
    "SiteState",
    "Zone",
]
