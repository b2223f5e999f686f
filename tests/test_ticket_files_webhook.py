"""Files on tickets beyond Redmine, with real visual checks (headless Chromium): the webhook
receiver gets the images base64-encoded in a signed `ticket.updated` that follows the
documented schema; a third-party backend without `attach` (installed as a real distribution)
gets the note with each file by label and dashboard link, here for a failed visual check
whose images show what changed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jsonschema
from attach_site import BASE_URL, AttachSite
from attach_site import pages as pages  # the fixtures: pages, site
from attach_site import site_fixture as site_fixture
from tma_webhook.signing import verify
from tma_webhook.testing.fixtures import WEBHOOK_PATH, WEBHOOK_SECRET
from tma_webhook.testing.receiver import WebhookReceiver

from tma_agent.testing.distributions import install_distribution

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "webhook.schema.json").read_text())

#: A ticket backend of a third party that keeps no files: it writes what it is told to a file.
NOTEBOOK = """
import json, os
from tma_agent.hookspecs import hookimpl
from tma_agent.tickets import BackendInfo, RemoteTicket, TicketSettings


class Notebook:
    name = "notebook"

    def __init__(self, context):
        self.path = os.environ["TMA_TEST_NOTEBOOK"]

    def _write(self, **entry):
        with open(self.path, "a") as out:
            out.write(json.dumps(entry) + "\\n")

    def find(self, fingerprint, *, recent=False):
        return None

    def create(self, draft):
        self._write(op="create", ref=draft.fingerprint)
        return RemoteTicket(ref=draft.fingerprint, status="open")

    def update(self, ref, draft, note, delivery_id):
        self._write(op="update", ref=ref, note=note, title=draft.title)

    def close(self, ref, note, delivery_id):
        self._write(op="close", ref=ref, note=note)

    def delivered(self, ref, delivery_id):
        return False

    def fetch(self, refs):
        return {}

    def check(self):
        return []

    def close_connection(self):
        return None


@hookimpl
def tma_register_ticket_backends(register):
    register(BackendInfo(name="notebook", title="Notes in a file", factory=Notebook,
                         settings_model=TicketSettings, reads_validations=False))
"""


def test_the_webhook_receives_the_images_base64_in_a_signed_update(site: AttachSite) -> None:
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        url = receiver.url + WEBHOOK_PATH
        site.configure({"backend": "webhook", "url": url, "secret": WEBHOOK_SECRET})
        (request,) = site.json("run")["requests"]
        applied = site.json("apply", "--site", "www")
        assert applied["state"] == "succeeded", applied
        images = site.images(applied)
        assert receiver.rejected == []
        ticket = receiver.tickets[request["ticket"]]
        assert ticket.files == images  # decoded, byte for byte
        (delivery,) = [d for d in receiver.deliveries.values() if d.body["files"]]
    # The receiver verified it; so does anyone holding the secret, files included.
    assert (
        verify(
            WEBHOOK_SECRET,
            delivery.headers,
            delivery.raw,
            now=float(delivery.headers["X-TMA-Timestamp"]),
        )
        is None
    )
    jsonschema.Draft202012Validator(SCHEMA).validate(delivery.body)
    body = delivery.body
    assert (body["event"], body["ref"], body["title"]) == ("ticket.updated", ticket.ref, None)
    journal = applied["journal"]
    for file, attachment in zip(body["files"], applied["attachments"], strict=True):
        name = Path(attachment["path"]).name
        assert file["filename"] == name and file["media_type"] == "image/png"
        assert file["label"] == attachment["label"] and file["size"] == len(images[name])
        assert base64.b64decode(file["content_base64"]) == images[name]
        assert file["url"] == f"{BASE_URL}/sites/www/applies/{journal}/files/{name}"
        assert f"- **{attachment['label']}**: `{name}` (" in body["note"]
    assert str(site.tmp_path) not in body["note"]
    # Every other delivery carries `files: null`, as the schema says.
    assert all(d.body["files"] is None for d in receiver.deliveries.values() if d is not delivery)


def test_a_deploys_note_carries_its_visual_checks_images_too(site: AttachSite) -> None:
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        url = receiver.url + WEBHOOK_PATH
        site.configure({"backend": "webhook", "url": url, "secret": WEBHOOK_SECRET})
        (request,) = site.json("run")["requests"]
        assert site.json("apply", "--site", "www")["state"] == "succeeded"
        validated = site.tma("requests", "validate", "tma:www:site", "--by", "Jane Client")
        assert validated.returncode == 0, validated.stderr
        deployed = site.json("deploy", "--site", "www", "--request", "tma:www:site")
        assert deployed["state"] == "succeeded", deployed
        with_files = [d.body for d in receiver.deliveries.values() if d.body["files"]]
        files = receiver.tickets[request["ticket"]].files
    assert [b["note"].split(" (", 1)[0] for b in with_files] == [
        "tma-agent applied this in staging",
        "tma-agent deployed this to production",
    ]
    images = site.images(deployed)
    assert len(images) == 3 and {f["filename"] for f in with_files[1]["files"]} == set(images)
    assert all(files[name] == data for name, data in images.items())


def test_a_backend_without_attach_gets_each_file_by_label_and_link(site: AttachSite) -> None:
    install_distribution(
        Path(site.env["PYTHONPATH"]), "tma_notebook", NOTEBOOK, version="1.0", entry="notebook"
    )
    notebook = site.tmp_path / "notebook.jsonl"
    site.env["TMA_TEST_NOTEBOOK"] = str(notebook)
    site.configure({"backend": "notebook"})
    site.json("run")
    site.update_playbook(move_the_box=True)  # the visual check fails: rolled back, exit 4
    failed = site.json("apply", "--site", "www", code=4)
    assert failed["state"] == "rolled_back" and "above the 1.00% threshold" in failed["error"]
    written = [json.loads(line) for line in notebook.read_text().splitlines()]
    (update,) = [entry for entry in written if entry["op"] == "update"]
    note = update["note"]
    assert note.startswith("tma-agent could not apply this in staging (flatfile-update")
    assert "Attachments (kept by the agent, not uploaded):" in note
    # What the steps said before failing (the changed ratio) is on the ticket too.
    assert "of the page changed (limit 1.00%)" in note
    journal = failed["journal"]
    for attachment in failed["attachments"]:
        name = Path(attachment["path"]).name
        link = f"{BASE_URL}/sites/www/applies/{journal}/files/{name}"
        assert f"- {attachment['label']}: {link}" in note
    assert str(site.tmp_path) not in note  # links, not the agent's paths


def test_a_playbook_run_for_a_request_notes_its_ticket_and_bills_it(site: AttachSite) -> None:
    """`tma playbook run --request`: the ticket gets the note with the run's images (an
    apply's way), the success is billed against the request; a failed run is noted, never
    billed. The request's work state is the apply's and the deploy's business."""
    run = ("playbook", "run", "flatfile-update", "--site", "www", "--var", "version=2.0.0")
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        site.configure({"backend": "webhook", "url": receiver.url + WEBHOOK_PATH,
                        "secret": WEBHOOK_SECRET})  # fmt: skip
        (request,) = site.json("run")["requests"]
        before = site.json("requests", "show", "tma:www:site")
        ran = site.json(*run, "--request", "tma:www:site")
        assert ran["status"] == "succeeded", ran
        site.update_playbook(move_the_box=True)  # this time the visual check fails
        failed = site.json(*run, "--request", str(before["id"]), code=4)
        assert failed["status"] == "rolled_back", failed
        site.update_playbook(move_the_box=False)
        alone = site.json(*run)  # no --request: no note, nothing billed
        assert alone["status"] == "succeeded", alone
        notes = [d.body for d in receiver.deliveries.values() if d.body["note"]]
        ticket = receiver.tickets[request["ticket"]]
    heads = [body["note"].split(" (", 1)[0] for body in notes]
    assert heads == ["tma-agent ran the playbook on staging", "tma-agent could not run the playbook on staging"]  # fmt: skip
    for body, outcome in zip(notes, (ran, failed), strict=True):
        assert {f["filename"] for f in body["files"]} == {
            Path(a["path"]).name for a in outcome["attachments"]
        }
        assert len(body["files"]) >= 2  # before and after
    assert "of the page changed (limit 1.00%)" in notes[1]["note"]
    journals = [body["note"].split("journal #", 1)[1].split(")", 1)[0] for body in notes]
    assert journals[0] != journals[1]
    for body, journal in zip(notes, journals, strict=True):
        assert all(f"/sites/www/applies/{journal}/files/" in f["url"] for f in body["files"])
    # Same names in both runs: the receiver keeps the newest (the failed run's) by name.
    last = {f["filename"]: base64.b64decode(f["content_base64"]) for f in notes[1]["files"]}
    assert ticket.files == last
    entries = site.json("time", "list", "--format", "json")["entries"]
    playbooks = [e for e in entries if e["action"] == "playbook"]
    (billed,) = playbooks
    assert billed["request_id"] == before["id"] and billed["site"] == "www"
    assert billed["description"] == "Playbook flatfile-update on staging"
    assert billed["billed_minutes"] >= billed["measured_minutes"] >= 1
    shown = site.json("requests", "show", "tma:www:site")
    assert shown["state"] == before["state"]  # not moved by a playbook
