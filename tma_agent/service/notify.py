"""Run summaries by email and by webhook: a built-in plugin on `tma_run_finished`, registered
through the entry points like any other (block it with `plugins.block: [notify]`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from tma_agent._masking import mask
from tma_agent.hookspecs import hookimpl

if TYPE_CHECKING:
    from tma_agent.service.digest import RunDigest
    from tma_agent.service.settings import EmailSettings, WebhookNotify
    from tma_agent.tickets.summary import RunInfo, RunSummary

__all__ = ["send_email", "send_webhook", "tma_run_finished"]

log = structlog.get_logger(__name__)


def send_email(settings: EmailSettings, digest: RunDigest) -> None:
    from tma_agent.service.mailer import build_message, send_mail

    send_mail(settings, build_message(settings, digest.subject(), "\n".join(digest.lines()) + "\n"))


def send_webhook(settings: WebhookNotify, digest: RunDigest) -> None:
    """Slack's and Mattermost's incoming-webhook JSON: `{"text": ...}` (Markdown)."""
    import httpx

    text = f"**{digest.subject()}**\n" + "\n".join(digest.lines()[1:])
    answer = httpx.post(settings.url, json={"text": text}, timeout=settings.timeout)
    answer.raise_for_status()


@hookimpl
def tma_run_finished(run: RunInfo, summary: RunSummary) -> None:
    config = run.config
    if run.dry_run or config is None:
        return
    from tma_agent.service.digest import digest_of
    from tma_agent.service.mailer import MailError

    digest = digest_of(run, summary)
    email, webhook = config.notify.email, config.notify.webhook
    if email is not None and (digest.changed or not email.only_changes):
        try:
            send_email(email, digest)
            log.info("run summary mailed", to=email.to)
        except MailError as exc:
            log.error("run summary not mailed", error=str(exc))
    if webhook is not None and (digest.changed or not webhook.only_changes):
        import httpx

        try:
            send_webhook(webhook, digest)
        except httpx.HTTPError as exc:
            log.error("run summary not posted", error=mask(" ".join(str(exc).split()))[:200])
