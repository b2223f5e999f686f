"""One mailer for run summaries and monthly reports: SMTP with STARTTLS (or implicit TLS) and
authentication, certificates verified, never a password in a log line."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from tma_agent._masking import mask, remember_secret
from tma_agent.errors import TmaError
from tma_agent.service.settings import EmailSettings

__all__ = ["Attachment", "MailError", "build_message", "send_mail"]


class MailError(TmaError):
    """The mail could not be handed to the SMTP server (exit 3: nothing lost, send it again)."""

    exit_code = 3


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


def _tls_context(settings: EmailSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def build_message(
    settings: EmailSettings,
    subject: str,
    text: str,
    *,
    to: Sequence[str] | None = None,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.from_
    message["To"] = ", ".join(to or settings.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.from_.rpartition("@")[2] or None)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        main, _, sub = item.mime_type.partition("/")
        if main == "text":
            # As text with its charset: sent as bytes, a mail client would read it as ASCII.
            text = item.content.decode("utf-8")
            message.add_attachment(text, subtype=sub, filename=item.filename, charset="utf-8")
        else:
            message.add_attachment(item.content, maintype=main, subtype=sub, filename=item.filename)
    return message


def send_mail(settings: EmailSettings, message: EmailMessage) -> None:
    """Hand `message` to the server; MailError (one line, password masked) when it fails."""
    if settings.password:
        remember_secret(settings.password)
    where = f"smtp://{settings.host}:{settings.port}"
    try:
        if settings.ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=_tls_context(settings),
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.starttls and not settings.ssl:
                client.starttls(context=_tls_context(settings))
                client.ehlo()
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where}: authentication failed ({exc.smtp_code})") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"{where}: {mask(' '.join(str(exc).split()))}") from None
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise MailError(f"{where}: cannot send mail ({mask(detail)[:200]})") from None
    if refused:
        raise MailError(f"{where}: recipients refused: {', '.join(sorted(refused))}")
