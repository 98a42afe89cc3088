"""Customer reports: the second door into a case (issue 22; DESIGN.md section 3).

`Desk` files a report from the status-page form, the API or the support mailbox: triage
for strangers, otherwise it joins the site's open monitoring case or opens a
customer-reported case, with a receipt in the customer's language. `MailboxPoller` reads
the support mailbox over IMAP into the same cases. `ProbeAsks` runs, on every instance,
the probes a report asked for of the checks that instance owns.
"""

from monitor.intake.asks import ProbeAsks
from monitor.intake.desk import Desk, Limits
from monitor.intake.mailbox import Handled, ImapFolder, MailboxError, MailboxPoller

__all__ = ["Desk", "Handled", "ImapFolder", "Limits", "MailboxError", "MailboxPoller", "ProbeAsks"]
