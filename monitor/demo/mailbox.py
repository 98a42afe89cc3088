"""The demo mailbox in the web UI: `/demo/mail` (list), `/demo/mail/{id}` (one message),
`/demo/mail/{id}/html` (its HTML part), `/demo/mail/case/{case}` (a case's thread).

Server-rendered with autoescaping, in the team UI's page frame and stylesheet (the web
package's `_base.html` and `/static/vakt.css`). The routes are mounted on the private app
through `monitor.app`'s extra-routes hook; they need no login because they show the
demo's own fake inboxes, never Vakt's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from aiohttp import web
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from monitor.demo.mail import Mail, Mailbox, Role
from monitor.web.render import when

ROLE_NAMES = {
    Role.PAGE: "page",
    Role.CUSTOMER: "customer",
    Role.TEAM: "team warning",
    Role.OTHER: "other",
}
# an email's own HTML is shown as a document of its own, never scripted or framed
HTML_PART_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [PackageLoader("monitor.demo", "templates"), PackageLoader("monitor.web", "templates")]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    return env


class MailboxView:
    """Renders the mailbox pages; `tz` is the zone receive times are shown in."""

    def __init__(self, mailbox: Mailbox, tz: tzinfo) -> None:
        self.mailbox = mailbox
        self.tz = tz
        self.env = _environment()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/demo/mail", self.index),
            web.get("/demo/mail/case/{case}", self.thread),
            web.get(r"/demo/mail/{id:\d+}", self.message),
            web.get(r"/demo/mail/{id:\d+}/html", self.html_part),
            web.get(r"/demo/mail/{id:\d+}.eml", self.eml),
        ]

    def _page(self, template: str, title: str, context: Mapping[str, Any]) -> web.Response:
        text = self.env.get_template(template).render(
            title=title, tz=self.tz, roles=ROLE_NAMES, **context
        )
        return web.Response(text=text, content_type="text/html")

    def _mail(self, request: web.Request) -> Mail:
        mail = self.mailbox.get(int(request.match_info["id"]))
        if mail is None:
            raise web.HTTPNotFound(text="No such message.")
        return mail

    async def index(self, _request: web.Request) -> web.Response:
        mails = self.mailbox.mails
        cases = [
            {"number": case, "subject": thread[0].subject, "count": len(thread)}
            for case in self.mailbox.cases()
            for thread in (self.mailbox.thread(case),)
        ]
        return self._page("mail_list.html", "Demo mailbox", {"mails": mails[::-1], "cases": cases})

    async def message(self, request: web.Request) -> web.Response:
        mail = self._mail(request)
        return self._page("mail_message.html", mail.subject, {"mail": mail})

    async def html_part(self, request: web.Request) -> web.Response:
        mail = self._mail(request)
        if not mail.html:
            raise web.HTTPNotFound(text="This message has no HTML part.")
        response = web.Response(text=mail.html, content_type="text/html")
        response.headers["Content-Security-Policy"] = HTML_PART_POLICY
        return response

    async def eml(self, request: web.Request) -> web.Response:
        """The message exactly as it arrived, to open in a mail client."""
        mail = self._mail(request)
        return web.Response(
            body=mail.raw,
            content_type="message/rfc822",
            headers={"Content-Disposition": f'attachment; filename="vakt-demo-{mail.id}.eml"'},
        )

    async def thread(self, request: web.Request) -> web.Response:
        case = request.match_info["case"]
        mails = self.mailbox.thread(case)
        if not mails:
            raise web.HTTPNotFound(text="No messages for this case.")
        return self._page("mail_thread.html", f"Case {case}", {"case": case, "mails": mails})
