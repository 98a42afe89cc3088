"""Where probes may connect: the probe target policy (issue 16 item 6).

Monitoring internal services is legitimate: a check whose own URL is on loopback or a
private network is probed like any other. What a probe must not do is let a *target*
steer it somewhere Vakt's operator did not ask for: a public site that redirects to
`http://127.0.0.1:5432/` or to Vakt's own `/api/v1`, or a public name that starts
resolving to loopback (DNS rebinding). So:

- `deny` networks (`settings.probes.deny`) are never connected to, whoever asks;
- `allow` networks are always allowed, except where `deny` says otherwise;
- by default, once a fetch has been on a public address, a redirect to loopback,
  link-local or one of Vakt's own listeners is refused (`redirect_allowed`), and a host
  name that resolved to a public address and later resolves to loopback or link-local
  is treated the same way.

A refusal is a target failure with error code `blocked` (the target asked for it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from enum import StrEnum

from monitor.config.records import HostPort, Network, Settings

CACHE_LIMIT = 1 << 16  # addresses classified, host names seen public: then cleared


class AddressClass(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"  # RFC 1918, unique local, CGNAT...: not globally routable
    LOOPBACK = "loopback"
    LINK_LOCAL = "link_local"  # 169.254.0.0/16 (cloud metadata), fe80::/10
    OWN = "own"  # one of Vakt's own listeners


_GUARDED = frozenset({AddressClass.LOOPBACK, AddressClass.LINK_LOCAL, AddressClass.OWN})


def classify(address: str) -> AddressClass:
    """The class of an IP address (without Vakt's listeners: see `TargetPolicy`)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return AddressClass.LOOPBACK
    if ip.is_link_local:
        return AddressClass.LINK_LOCAL
    if ip.is_global:
        return AddressClass.PUBLIC
    return AddressClass.PRIVATE


def redirect_allowed(source: AddressClass | None, target: AddressClass) -> bool:
    """The default rule. `source`: the most public class the fetch has been on so far
    (None: the check's own target, which is always allowed)."""
    return source is not AddressClass.PUBLIC or target not in _GUARDED


class TargetPolicy:
    """`settings.probes` and Vakt's own listeners; shared by every probe of a process."""

    __slots__ = ("_allow", "_classes", "_deny", "_own", "_public_names")

    def __init__(
        self,
        *,
        allow: Sequence[Network] = (),
        deny: Sequence[Network] = (),
        own: Iterable[HostPort] = (),
    ) -> None:
        self._allow = tuple(allow)
        self._deny = tuple(deny)
        self._own = tuple(own)
        self._classes: dict[str, AddressClass] = {}
        self._public_names: set[str] = set()

    def address_class(self, address: str, port: int) -> AddressClass:
        if self._is_own(address, port):
            return AddressClass.OWN
        known = self._classes.get(address)
        if known is None:
            if len(self._classes) >= CACHE_LIMIT:
                self._classes.clear()
            known = self._classes[address] = classify(address)
        return known

    def refusal(
        self, address: str, port: int, source: AddressClass | None, host: str | None = None
    ) -> str | None:
        """Why a connection to `address`:`port` is refused, or None when it is allowed.

        `source`: the most public class this fetch has been on (None: first hop); `host`:
        the name that resolved to `address` (None for an IP literal)."""
        if self._deny and _within(address, self._deny):
            return f"{address} is in settings.probes.deny"
        kind = self.address_class(address, port)
        if host is not None and source is None:
            source = self._rebound(host, kind)
        if redirect_allowed(source, kind):
            return None
        if self._allow and _within(address, self._allow):
            return None
        what = "Vakt's own listener" if kind is AddressClass.OWN else kind.value.replace("_", "-")
        how = f"{host} resolved" if host is not None and source is None else "a redirect led"
        return f"{how} from a public address to {what} {address}"

    def _rebound(self, host: str, kind: AddressClass) -> AddressClass | None:
        """PUBLIC when `host` was seen on a public address and now is not (rebinding)."""
        if kind is AddressClass.PUBLIC:
            if len(self._public_names) >= CACHE_LIMIT:
                self._public_names.clear()
            self._public_names.add(host)
            return None
        return AddressClass.PUBLIC if host in self._public_names else None

    def _is_own(self, address: str, port: int) -> bool:
        for listener in self._own:
            if listener.port == port and listener.host in (address, "0.0.0.0", "::", ""):
                return True
        return False


def _within(address: str, networks: Sequence[Network]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == net.version and ip in net for net in networks)


def most_public(seen: AddressClass | None, kind: AddressClass) -> AddressClass | None:
    """The source class for the next hop after a hop on `kind`."""
    return AddressClass.PUBLIC if AddressClass.PUBLIC in (seen, kind) else (seen or kind)


def target_policy(settings: Settings) -> TargetPolicy:
    """The policy of a config: `settings.probes` and Vakt's two listeners."""
    probes = settings.probes
    return TargetPolicy(
        allow=probes.allow, deny=probes.deny, own=(settings.listen, settings.public_listen)
    )
