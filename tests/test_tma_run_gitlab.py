"""`tma run`, `tma requests sync` and `tma tickets check` end to end against the GitLab fake
(it speaks GitLab's REST v4 wire format): what people do in the ticket system (validate with
a label, reject, close) is read back into the ledger with who did it, and a lost ledger never
duplicates an issue: the fingerprint label finds it."""

from __future__ import annotations

import os
import shutil

import pytest
from run_fleet import CORE_NEWER, Fleet, actions
from run_fleet import fleet as fleet  # the fixture
from tma_gitlab.testing.fake import FakeGitLab

TOKEN_ENV = "TMA_TEST_GITLAB_TOKEN"


@pytest.fixture(autouse=True)
def _token_env(fake_gitlab: FakeGitLab) -> None:
    os.environ[TOKEN_ENV] = fake_gitlab.token
    yield
    os.environ.pop(TOKEN_ENV, None)


def _use_gitlab(fleet: Fleet, fake: FakeGitLab) -> None:
    fleet.write(
        tickets={
            "backend": "gitlab",
            "url": fake.url,
            "token": {"$env": TOKEN_ENV},
            "project": fake.project.path,
        }
    )


def issues(fake: FakeGitLab) -> dict[str, dict[str, object]]:
    """Issues by the fingerprint in their marker line."""
    found = {}
    for issue in fake.project.issues.values():
        for line in str(issue["description"]).splitlines():
            if line.startswith("tma-fingerprint: "):
                found[line.removeprefix("tma-fingerprint: ")] = issue
    return found


def test_validation_and_rejection_in_gitlab_are_read_back(
    fleet: Fleet, fake_gitlab: FakeGitLab
) -> None:
    _use_gitlab(fleet, fake_gitlab)
    first = fleet.run()
    assert actions(first) == {"tma:www:site": "created", "tma:intranet:site": "created"}
    made = issues(fake_gitlab)
    assert set(made) == {"tma:www:site", "tma:intranet:site"}
    www, intranet = made["tma:www:site"], made["tma:intranet:site"]
    assert "security" in www["labels"] and "tma" in www["labels"]
    assert www["time_stats"]["time_estimate"] == 2 * 3600  # 1 h default per component, 2 of them
    fake_gitlab.set_labels(int(www["iid"]), [*www["labels"], "tma::validated"], by="jane.client")
    fake_gitlab.set_labels(int(intranet["iid"]), [*intranet["labels"], "tma::rejected"], by="bob")
    sync = fleet.tma("requests", "sync")
    assert sync.returncode == 0, sync.stderr
    assert "2 request(s) changed" in sync.stdout
    shown = fleet.show("tma:www:site")
    assert [(v["by"], v["source"]) for v in shown["validations"]] == [("jane.client", "gitlab")]
    assert shown["state"] == "estimated"  # validated, still to be done
    rejected = fleet.show("tma:intranet:site")
    assert rejected["state"] == "rejected"
    assert rejected["events"][-1]["actor"] == "bob" and rejected["events"][-1]["source"] == "gitlab"
    # The rejected request is not reopened for the same targets, and is for newer ones.
    assert actions(fleet.run())["tma:intranet:site"] == "unchanged"
    fleet.feeds(CORE_NEWER)
    newer = fleet.run()
    assert actions(newer) == {"tma:www:site": "updated", "tma:intranet:site#2": "created"}
    follow = issues(fake_gitlab)["tma:intranet:site#2"]
    assert f"Follows the closed request {intranet['iid']}." in str(follow["description"])
    assert len(fake_gitlab.project.issues) == 3


def test_a_lost_ledger_is_rebuilt_from_gitlab_without_a_duplicate(
    fleet: Fleet, fake_gitlab: FakeGitLab
) -> None:
    _use_gitlab(fleet, fake_gitlab)
    fleet.run()
    shutil.rmtree(fleet.tmp_path / "state")  # the disk of the agent's machine is gone
    # A fresh ledger knows nothing: every create is searched by fingerprint first.
    second = fleet.run()
    assert {r["action"] for r in second["requests"]} <= {"created"}
    assert len(fake_gitlab.project.issues) == 2, [
        i["title"] for i in fake_gitlab.project.issues.values()
    ]
    assert {r["ticket"] for r in fleet.requests()} == {
        str(i["iid"]) for i in fake_gitlab.project.issues.values()
    }


def test_tickets_check_reports_a_missing_label(fleet: Fleet, fake_gitlab: FakeGitLab) -> None:
    _use_gitlab(fleet, fake_gitlab)
    assert fleet.tma("tickets", "check").returncode == 0
    fleet.write(
        tickets={
            "backend": "gitlab",
            "url": fake_gitlab.url,
            "token": {"$env": TOKEN_ENV},
            "project": fake_gitlab.project.path,
            "validated_label": "client-ok",
        }
    )
    done = fleet.tma("tickets", "check")
    assert done.returncode == 2
    assert "client-ok" in done.stdout and fake_gitlab.token not in done.stdout + done.stderr


def test_wrong_credentials_name_the_backend_and_url(fleet: Fleet, fake_gitlab: FakeGitLab) -> None:
    _use_gitlab(fleet, fake_gitlab)
    os.environ[TOKEN_ENV] = "glpat-wrong-token-000000"
    summary = fleet.run(code=3)
    assert summary["parked"] == 1 and summary["queued"] == 1
    (error,) = [e for e in summary["ticket_errors"] if "parked" in e]
    assert error.startswith(f"gitlab {fake_gitlab.url}/api/v4/projects/") and "HTTP 401" in error
    assert "glpat-wrong-token-000000" not in str(summary)


def test_a_bucket_alert_is_one_notice_on_the_clients_project(
    fleet: Fleet, fake_gitlab: FakeGitLab
) -> None:
    _use_gitlab(fleet, fake_gitlab)
    fleet.write(
        clients=[{"id": "acme", "name": "ACME", "contract": {"days": "0.125", "hours_per_day": 8}}]
    )
    logged = fleet.tma(
        "time",
        "log",
        "--site",
        "www",
        "--hours",
        "1",
        "--kind",
        "corrective",
        "--by",
        "Jane Dev",
        "Fixed the contact form",
    )
    assert logged.returncode == 0, logged.stderr
    assert logged.stderr.count("bucket alert:") == 2  # 80 % and 100 %
    notices = [i for i in fake_gitlab.project.issues.values() if "bucket-alert" in i["labels"]]
    assert sorted(i["title"] for i in notices) == [
        "[TMA] acme: 100 % of the bucket used",
        "[TMA] acme: 80 % of the bucket used",
    ]
    assert "consumed: 1 h 00" in str(notices[0]["description"])
    fleet.run()
    fleet.run()
    again = [i for i in fake_gitlab.project.issues.values() if "bucket-alert" in i["labels"]]
    assert len(again) == 2  # once per threshold and period, whatever runs follow
