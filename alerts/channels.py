"""Sending one message: e-mail over SMTP (STARTTLS, TLS, or plain for a relay) with a plain-text part
and, for digests, an HTML one; or a chat webhook that takes Slack's incoming-webhook JSON ({"text":
...}; Mattermost and others accept it). A failure raises ChannelError whose message never holds the
password or the webhook's URL (the URL is the credential)."""

import smtplib
import ssl
from email.message import EmailMessage

import httpx

from .config import Config

TIMEOUT = 20.0


class ChannelError(Exception):
    """A channel did not take the message; the message is safe to print and store."""


def send(config: Config, channel: str, subject: str, text: str, html: str | None) -> None:
    if channel == "email":
        _email(config, subject, text, html)
    else:
        _webhook(config, subject, text)


def _email(config: Config, subject: str, text: str, html: str | None) -> None:
    e = config.email
    assert e is not None
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, e.sender, ", ".join(e.to)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    try:
        if e.security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                e.host, e.port, timeout=TIMEOUT, context=ssl.create_default_context()
            )
        else:
            server = smtplib.SMTP(e.host, e.port, timeout=TIMEOUT)
        with server:
            if e.security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if e.username and e.password:
                server.login(e.username, e.password.reveal())
            server.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise ChannelError(f"e-mail: {e.host}:{e.port} refused the login of {e.username}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"e-mail: {e.host}:{e.port}: {type(exc).__name__}: {_first_line(exc)}") from None


def _webhook(config: Config, subject: str, text: str) -> None:
    assert config.webhook is not None
    try:
        answer = httpx.post(
            config.webhook.reveal(),
            json={"text": f"*{subject}*\n{text}"},
            timeout=TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:  # its message may hold the URL: only the kind is said
        raise ChannelError(f"webhook: {type(exc).__name__}") from None
    if answer.status_code >= 300:
        raise ChannelError(f"webhook: answered HTTP {answer.status_code}")


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
