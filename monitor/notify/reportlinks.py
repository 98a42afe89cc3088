"""Signed one-click links to approve or hold a monthly report (`reports: {approve: true}`).

The same tokens as the acknowledge links (`monitor.notify.tokens`: HMAC-signed with
`settings.secret`, expiring), naming one decision on one customer's month instead of
incidents. The token id (`nonce`) is derived from the decision, the customer and the month,
so a preview planned twice carries the same links and a decision is spent once: the web
layer records it in the used-token table (who decided, when) like a spent acknowledge link.
Pure: no clock reads and no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.notify.tokens import TokenError, TokenProblem, issue_token, verify_token

PATH = "/report-approval"
_PREFIX = "report"
TEAM = "team"  # the person a preview's links are issued to: whoever reads the team mailbox


class Decision(StrEnum):
    APPROVE = "approve"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class ReportLink:
    """What a valid link decides: `decision` on `customer`'s `month` (YYYY-MM)."""

    decision: Decision
    customer: str
    month: str


def decision_id(decision: Decision, customer: str, month: str) -> str:
    """The token id of a decision, also its row in the used-token table (fits 64 chars)."""
    digest = hashlib.sha256(f"{customer}\0{month}".encode()).hexdigest()[:40]
    return f"{_PREFIX}-{decision.value}:{digest}"


def issue_link(secret: str, public_url: str, link: ReportLink, expires_at: datetime) -> str:
    """`{public_url}/report-approval/{token}` for `link`, valid until `expires_at`."""
    subject = f"{_PREFIX}:{link.decision.value}:{link.month}:{link.customer}"
    nonce = decision_id(link.decision, link.customer, link.month)
    token = issue_token(secret, (subject,), TEAM, expires_at, nonce=nonce)
    return f"{public_url.rstrip('/')}{PATH}/{token}"


def read_link(secret: str, token: str, now: datetime) -> ReportLink | TokenError:
    """The decision of a genuine, unexpired report link; otherwise why not."""
    claims = verify_token(secret, token, now)
    if isinstance(claims, TokenError):
        return claims
    prefix, _, rest = claims.incidents[0].partition(":")
    decision, _, rest = rest.partition(":")
    month, _, customer = rest.partition(":")
    if prefix != _PREFIX or decision not in set(Decision) or not customer:
        return TokenError(TokenProblem.MALFORMED, "not a report link")
    return ReportLink(Decision(decision), customer, month)
