"""Who and what the demo watches, and the `checks.yaml` it writes for them.

Two customers in different languages, seven sites on the simulated fleet, one on-call
engineer and a team address. `Pace` sets the intervals (seconds, in the generated config:
the demo never plays tricks with the clock) and how long the narration pauses so a person
can look; `--fast` uses a quicker one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from monitor.demo.mail import Role
from monitor.demo.targets import CertKind, HostileFleet

TEAM = "ops@agency.example"
ONCALL_ID = "ingrid"
ONCALL_NAME = "Ingrid Berg"
ONCALL = "ingrid@agency.example"
SENDER = "Nordic Web Agency <support@agency.example>"


@dataclass(frozen=True, slots=True)
class Pace:
    """How quickly the demo moves. Durations are in seconds."""

    interval: float  # between probes of a healthy check
    retry: float  # between probes once a check failed
    fast_interval: float  # the slow-site check: enough samples for a baseline quickly
    a_email_after: float  # Level A: first customer email this long after opening
    b_email_after: float  # Level B
    warm_up: float  # before the first fault: the slow site learns its baseline
    look: float  # a pause for the person to look at what was just narrated
    flap_down: float
    flap_up: float
    flaps: int
    outage: float  # how long the Level A outage lasts after its first customer email
    wait: float  # the longest any expected event may take before it counts as missing


NORMAL = Pace(
    interval=2.0,
    retry=1.0,
    fast_interval=0.5,
    a_email_after=20.0,
    b_email_after=25.0,
    warm_up=20.0,
    look=6.0,
    flap_down=6.0,
    flap_up=8.0,
    flaps=4,
    outage=8.0,
    wait=60.0,
)
FAST = Pace(
    interval=1.0,
    retry=0.5,
    fast_interval=0.4,
    a_email_after=4.0,
    b_email_after=4.0,
    warm_up=15.0,
    look=0.0,
    flap_down=4.0,
    flap_up=5.0,
    flaps=4,
    outage=2.0,
    wait=45.0,
)


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    name: str
    language: str
    timezone: str
    contact: str
    email: str


NORDLYS = Customer(
    "nordlys", "Nordlys Sport AS", "nb", "Europe/Oslo", "Kari Nordmann", "kari@nordlys.example"
)
ACME = Customer("acme", "ACME Ltd", "en", "Europe/London", "Jane Smith", "jane@acme.example")
CUSTOMERS = (NORDLYS, ACME)


@dataclass(frozen=True, slots=True)
class DemoSite:
    """One watched site: `fleet` is its name on the simulated fleet (`/sites/<fleet>/`)."""

    customer: Customer
    name: str
    title: str
    story: str  # what happens to it, in a few words

    @property
    def id(self) -> str:
        return f"{self.customer.id}/{self.name}"

    @property
    def fleet(self) -> str:
        return f"{self.customer.id}-{self.name}"


SHOP = DemoSite(NORDLYS, "shop", "shop.nordlys.example", "stays healthy")
BOOKING = DemoSite(NORDLYS, "booking", "booking.nordlys.example", "/checkout breaks: Level B")
CLUB = DemoSite(NORDLYS, "club", "klubb.nordlys.example", "flaps: one case, no flood")
WWW = DemoSite(ACME, "www", "www.acme.example", "hard down, then back: Level A")
API = DemoSite(ACME, "api", "api.acme.example", "5x slower than its baseline: Level B")
DOCS = DemoSite(ACME, "docs", "docs.acme.example", "one failed probe: pages nobody")
PORTAL = DemoSite(ACME, "portal", "portal.acme.example", "certificate expires in 5 days")
SITES = (SHOP, BOOKING, CLUB, WWW, API, DOCS, PORTAL)


def roles() -> dict[str, Role]:
    """Who each address belongs to, for the mailbox."""
    found = {ONCALL: Role.PAGE, TEAM: Role.TEAM}
    found.update({c.email: Role.CUSTOMER for c in CUSTOMERS})
    return found


@dataclass(frozen=True, slots=True)
class Ports:
    """Where Vakt listens and sends (all on 127.0.0.1)."""

    web: int
    public: int
    smtp: int


def _seconds(value: float) -> str:
    return f"{round(value * 1000)}ms"


def _http(fleet: HostileFleet, site: DemoSite, path: str = "/") -> str:
    return fleet.url(f"/sites/{site.fleet}{path}")


def _settings(store: str, ports: Ports, pace: Pace, secret: str) -> str:
    return f"""\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: "{store}"
  listen: 127.0.0.1:{ports.web}
  public_listen: 127.0.0.1:{ports.public}
  public_url: http://127.0.0.1:{ports.public}
  secret: "{secret}"
  heartbeat_key: "{secret}-heartbeats"
  location: demo
  email:
    from: "{SENDER}"
    team: {TEAM}
    smtp: {{host: 127.0.0.1, port: {ports.smtp}}}
  paging: {{group_window: 10s}}
  flapping: {{changes: 3, within: 10m, reopen_within: 5m}}
  defaults: {{interval: {_seconds(pace.interval)}, retry_interval: {_seconds(pace.retry)},
             timeout: 1500ms, confirm: 2, recover: 2}}
"""


def _contracts(pace: Pace) -> str:
    # The demo pages Level B at once; a real `standard` policy pages it in business hours.
    return f"""\
calendars:
  office:
    timezone: Europe/Oslo
    hours: {{mon-fri: ["09:00-16:00"]}}
    holidays: {{country: "NO"}}
policies:
  demo:
    calendar: office
    levels:
      A: {{respond: 2h, clock: always, page: always,
          customer_email_after: {_seconds(pace.a_email_after)}, update_every: [1m, 2m]}}
      B: {{respond: 4h, clock: always, page: always,
          customer_email_after: {_seconds(pace.b_email_after)}, update_every: [2m]}}
people:
  {ONCALL_ID}: {{name: {ONCALL_NAME}, email: {ONCALL}}}
oncall:
  schedules:
    primary:
      timezone: Europe/Oslo
      layers: [{{rotation: weekly, handoff: "mon 09:00", members: [{ONCALL_ID}]}}]
  escalation:
    default:
      steps: [{{notify: ["schedule:primary"], via: [email]}}]
"""


def _customer(customer: Customer) -> str:
    return f"""\
  {customer.id}:
    name: {customer.name}
    language: {customer.language}
    timezone: {customer.timezone}
    policy: demo
    escalation: default
    contacts: [{{name: {customer.contact}, email: {customer.email}}}]
    status_page: {{public: true}}
    sites:
"""


def _site(fleet: HostileFleet, site: DemoSite, pace: Pace) -> str:
    head = f"""\
      {site.name}:
        url: {_http(fleet, site)}
        title: {site.title}
"""
    home = f"home: {{url: {_http(fleet, site)}, expect: {{status: 200, body_contains: Welcome}}}}"
    checkout = f"checkout: {{url: {_http(fleet, site, '/checkout')}, impact: function}}"
    # one check where the story needs one clean level: with two, the site can open at B
    # (checkout confirmed first), go to A, and step down again while recovering
    checks = [home] if site in (WWW, CLUB) else [home, checkout]
    if site is API:
        head += "        slow: {factor: 3, over: 4s, min: 100ms, baseline: 1h}\n"
        home = f"home: {{url: {_http(fleet, site)}, interval: {_seconds(pace.fast_interval)}}}"
        checks = [home]
    if site is PORTAL:
        port = fleet.tls_ports[CertKind.EXPIRING]
        tls = (
            f"certificate: {{type: tls, target: 127.0.0.1:{port}, server_name: localhost,"
            " expect: {valid_for: 14d}, impact: warning}"
        )
        checks = [home, tls]
    return head + "        checks:\n" + "".join(f"          {c}\n" for c in checks)


def checks_yaml(fleet: HostileFleet, store: str, ports: Ports, pace: Pace, secret: str) -> str:
    """The whole generated configuration."""
    parts = [_settings(store, ports, pace, secret), _contracts(pace), "customers:\n"]
    for customer in CUSTOMERS:
        parts.append(_customer(customer))
        parts += [_site(fleet, s, pace) for s in SITES if s.customer is customer]
    return "".join(parts)


def write_config(directory: Path, text: str) -> Path:
    path = directory / "checks.yaml"
    path.write_text(text, encoding="utf-8")
    return path
