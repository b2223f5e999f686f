"""The `webhook` ticket backend: every ticket write is one signed JSON POST to `tickets.url`.

A webhook cannot be read back: `find` and `fetch` know nothing, `delivered` cannot tell, and
validations are recorded with `tma requests validate`. Exactly-once therefore rests on the
delivery id: the outbox re-sends a write whose answer was lost with the same `X-TMA-Delivery`,
and the receiver keeps the first and answers every repeat as it answered the first.

A note with files (`attach`) is a `ticket.updated` whose `files` lists them, each with its
bytes in base64 (the signature covers them with the rest of the body) and its draft fields
null: such a delivery adds the note and the files, it rewrites none of the ticket's fields.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from tma_agent._masking import remember_secret
from tma_agent.tickets import (
    BackendContext,
    RemoteTicket,
    TicketDraft,
    TicketFile,
    TicketRefused,
    TicketUnavailable,
)
from tma_agent.tickets.forge.uploads import file_line, files_note
from tma_agent.tickets.http import TicketAnswer, TicketHTTP
from tma_webhook.settings import WebhookSettings
from tma_webhook.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

__all__ = ["EVENTS", "WebhookBackend", "create_delivery_id"]

#: Every `event` a delivery can carry (`X-TMA-Event`).
EVENTS = ("ticket.created", "ticket.updated", "ticket.closed", "ping")
#: A ref the receiver answers: printable, one line, short enough for the ledger and messages.
_REF = re.compile(r"[^\x00-\x1f\x7f]{1,200}")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]{1,500}")
_DRAFT_KEYS = (
    "fingerprint",
    "site",
    "client",
    "kind",
    "priority",
    "estimate_minutes",
    "title",
    "description",
    "labels",
    "previous_ref",
)


def _files(files: Sequence[TicketFile]) -> list[dict[str, Any]]:
    return [
        {
            "filename": file.filename,
            "media_type": file.media_type,
            "label": file.label,
            "url": file.url,
            "size": len(file.content),
            "content_base64": base64.b64encode(file.content).decode("ascii"),
        }
        for file in files
    ]


def _shown(url: str) -> str:
    return url.split("?", 1)[0]  # a token in the query string stays out of messages


def create_delivery_id(draft: TicketDraft) -> str:
    """The delivery id of a create, the same however often it is re-sent. A request that
    follows a closed one may carry the same fingerprint (`per_site`): the previous ticket then
    tells the two creates apart, or the receiver would take the new one for a repeat."""
    return f"create:{_default_ref(draft)}"


def _default_ref(draft: TicketDraft) -> str:
    if draft.previous_ref is None:
        return draft.fingerprint
    after = hashlib.sha256(draft.previous_ref.encode()).hexdigest()[:8]
    return f"{draft.fingerprint}:{after}"


class WebhookBackend:
    name = "webhook"

    def __init__(
        self,
        context: BackendContext,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        settings = context.settings
        if not isinstance(settings, WebhookSettings):
            raise TypeError("the webhook backend needs WebhookSettings")
        # Masked even when written in clear in the config, not only through {$env:}.
        remember_secret(settings.secret)
        self.settings = settings  # read by the outbox: tickets.attachments.max_bytes
        self._secret = settings.secret
        self._url = settings.url
        self._labels = tuple(settings.labels)
        self._where = context.where
        self._clock = clock
        self._http = TicketHTTP(
            self.name,
            settings.url,
            timeout=context.http.timeout,
            retries=context.http.retries,
            transport=transport,
        )

    def find(self, fingerprint: str, *, recent: bool = False) -> RemoteTicket | None:
        return None  # nothing to search: the receiver de-duplicates a re-sent create instead

    def create(self, draft: TicketDraft) -> RemoteTicket:
        labels = self._labels_of(draft)
        body = {**self._draft_fields(draft, labels), "ref": None, "note": None}
        answer = self._post("ticket.created", create_delivery_id(draft), body)
        ref, url = self._answered_ref(answer)
        return RemoteTicket(ref=ref or _default_ref(draft), status="open", url=url, labels=labels)

    def update(self, ref: str, draft: TicketDraft, note: str | None, delivery_id: str) -> None:
        body = {**self._draft_fields(draft, self._labels_of(draft)), "ref": ref, "note": note}
        self._post("ticket.updated", delivery_id, body)

    def attach(self, ref: str, files: Sequence[TicketFile], note: str, delivery_id: str) -> None:
        # The note names the files too, for a receiver that only shows notes.
        lines = [file_line(file, "") for file in files]
        shown = files_note(note, lines, "Attachments:")
        body = {**dict.fromkeys(_DRAFT_KEYS), "ref": ref, "note": shown, "files": _files(files)}
        self._post("ticket.updated", delivery_id, body)

    def close(self, ref: str, note: str, delivery_id: str) -> None:
        body = {**dict.fromkeys(_DRAFT_KEYS), "ref": ref, "note": note}
        self._post("ticket.closed", delivery_id, body)

    def delivered(self, ref: str, delivery_id: str) -> bool:
        return False  # cannot tell: the re-sent write carries the same id, the receiver skips it

    def fetch(self, refs: Sequence[str]) -> Mapping[str, RemoteTicket]:
        return {}

    def check(self) -> list[str]:
        """A signed `ping` delivery; anything but a 2xx is the line to fix."""
        body = {**dict.fromkeys(_DRAFT_KEYS), "ref": None, "note": None}
        try:
            self._post("ping", f"ping:{uuid.uuid4().hex}", body)
        except TicketRefused as exc:
            if exc.status in (401, 403):
                return [
                    f"{exc.backend} {exc.url}: the receiver refused the signed ping "
                    f"(HTTP {exc.status}): set {self._where}.secret to the secret it verifies "
                    f"{SIGNATURE_HEADER} with, and check that its clock is right"
                ]
            return [f"{exc}: the receiver must answer a 2xx to every POST, a ping included"]
        except TicketUnavailable as exc:
            return [
                f"{exc}: the receiver must be reachable from here and answer within the "
                "http.timeout"
            ]
        return []

    def close_connection(self) -> None:
        self._http.close()

    def _labels_of(self, draft: TicketDraft) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self._labels, *draft.labels)))

    @staticmethod
    def _draft_fields(draft: TicketDraft, labels: tuple[str, ...]) -> dict[str, Any]:
        return {
            "fingerprint": draft.fingerprint,
            "site": draft.site,
            "client": draft.client,
            "kind": draft.kind,
            "priority": draft.priority,
            "estimate_minutes": draft.estimate_minutes,
            "title": draft.title,
            "description": draft.description,
            "labels": list(labels),
            "previous_ref": draft.previous_ref,
        }

    def _post(self, event: str, delivery_id: str, fields: Mapping[str, Any]) -> TicketAnswer:
        if not _HEADER_SAFE.fullmatch(delivery_id):
            # httpx cannot send it as a header (a traceback, not a TicketError).
            raise TicketRefused(self.name, _shown(self._url), "delivery id is not printable ASCII")
        # `files` is null but in a note with files (`attach`): every key is always present.
        document = {"event": event, "delivery_id": delivery_id, "files": None, **fields}
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        # A lone surrogate (a name read with surrogateescape) cannot be UTF-8: replaced.
        body = text.encode("utf-8", "replace")
        # Signed at each send: a write re-sent the next night gets a fresh timestamp.
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        return self._http.request("POST", self._url, content=body, headers=headers)

    def _answered_ref(self, answer: TicketAnswer) -> tuple[str | None, str | None]:
        """The receiver's own `ref` (and `url`) from a JSON answer; none is fine (the ref is
        then the fingerprint), a malformed one is refused rather than stored."""
        declared = "json" in answer.headers.get("content-type", "").lower()
        # Some tools answer JSON as text/plain: read it too, but only a declared JSON answer
        # that does not parse is a garbled one.
        if not (declared or answer.body.lstrip()[:1] == b"{") or not answer.body.strip():
            return None, None
        try:
            data = answer.json()
        except TicketUnavailable:
            if declared:
                raise
            return None, None
        if not isinstance(data, dict) or data.get("ref") is None:
            return None, None
        ref = data["ref"]
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not _REF.fullmatch(ref) or not ref.strip():
            raise TicketRefused(
                self.name,
                answer.url,
                "the receiver answered a `ref` that is not a one-line string of 1-200 characters",
                status=answer.status,
            )
        url = data.get("url")
        if not (isinstance(url, str) and len(url) <= 2000 and re.match(r"https?://\S+$", url)):
            url = None
        return ref, url
