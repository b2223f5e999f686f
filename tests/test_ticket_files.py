"""What an `attach` reads at send time, on real files: only files under `<state_dir>/applies`
(a symbolic link or a `..` out of it is refused, never read), at most 12 per note, each up to
the limit, and the lines saying what was left out."""

from __future__ import annotations

from pathlib import Path

from tma_agent.tickets.files import (
    MAX_FILES_PER_NOTE,
    attached_note,
    files_payload,
    linked_note,
    load_files,
    queued_files,
)


def _applies(tmp_path: Path) -> Path:
    run = tmp_path / "state" / "applies" / "www" / "20261202-0800"
    run.mkdir(parents=True)
    return run


def test_only_files_of_an_apply_are_read(tmp_path: Path) -> None:
    run = _applies(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for tickets")
    (run / "shot.png").write_bytes(b"\x89PNG one")
    (run / "escape.png").symlink_to(secret)
    files = [
        ("kept", run / "shot.png"),
        ("linked out", run / "escape.png"),
        ("climbed out", run / ".." / ".." / ".." / ".." / "secret.txt"),
        ("elsewhere", secret),
    ]
    payload = files_payload(
        tmp_path / "state" / "applies",
        files,
        max_bytes=1000,
        site="www",
        journal_id=7,
        base_url=None,
    )
    read, left_out = load_files(payload, queued_files(payload))
    assert [(f.filename, f.content, f.media_type) for f in read] == [
        ("shot.png", b"\x89PNG one", "image/png")
    ]
    assert left_out == [
        "linked out: not attached (not a file of an apply)",
        "climbed out: not attached (not a file of an apply)",
        "elsewhere: not attached (not a file of an apply)",
    ]
    # A payload naming another root is refused whole: the root must be an `applies` folder.
    payload["files_root"] = str(tmp_path)
    assert load_files(payload, queued_files(payload))[0] == []


def test_at_most_twelve_files_per_note_each_within_the_limit(tmp_path: Path) -> None:
    run = _applies(tmp_path)
    files = []
    for index in range(MAX_FILES_PER_NOTE + 2):
        (run / f"{index}.png").write_bytes(b"x" * (20 if index == 3 else 10))
        files.append((f"shot {index}", run / f"{index}.png"))
    link = "https://tma.example/sites/www/applies/7/files"
    payload = files_payload(
        tmp_path / "state" / "applies",
        files,
        max_bytes=10,
        site="www",
        journal_id=7,
        base_url="https://tma.example/",  # a trailing slash makes no double one
    )
    read, left_out = load_files(payload, queued_files(payload))
    assert len(read) == MAX_FILES_PER_NOTE - 1
    assert left_out == [
        "shot 3: not attached (20 bytes, over tickets.attachments.max_bytes (10))",
        "shot 12: not attached (at most 12 per note)",
        "shot 13: not attached (at most 12 per note)",
    ]
    assert read[0].url == f"{link}/0.png"
    note = attached_note("Applied.", left_out)
    assert note.splitlines() == ["Applied.", "", *(f"- {line}" for line in left_out)]
    assert attached_note("Applied.", []) == "Applied."  # the backend lists what it got
    linked = linked_note("Applied.", queued_files(payload))
    assert f"- shot 13: {link}/13.png" in linked.splitlines()
