"""The inbox as an attacker or a careless user fills it: links to elsewhere, names as long as the file
system allows, names that are not UTF-8, hostile folder names. Nothing outside the inbox is read, moved,
created or deleted, and no name crashes an ingest."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from pulse.inbox import NAME_MAX, UnsafeInbox, fitting_name
from pulse.lake import read_manifest
from pulse.spotify_exports import ingest_exports, pending_exports
from tests.ingest.file_tree import tree

CLASSIC_ROWS = [{"endTime": "2024-04-16 18:57", "artistName": "Rigoberta Bandini", "trackName": "Too Many Drugs",
                 "msPlayed": 272360}]
OTHER_ROWS = [{"endTime": "2020-01-16 03:13", "artistName": "Someone Else", "trackName": "Not Yours",
               "msPlayed": 1000}]


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the inbox holding another person's export and a file of their own."""
    place = tmp_path / "elsewhere"
    (place / "victim").mkdir(parents=True)
    (place / "victim" / "StreamingHistory0.json").write_text(json.dumps(OTHER_ROWS))
    (place / "secret.json").write_text(json.dumps(OTHER_ROWS))
    return place


@pytest.fixture
def inbox(tmp_path) -> Path:
    path = tmp_path / "inbox"
    (path / "ana").mkdir(parents=True)
    (path / "ana" / "StreamingHistory_music_0.json").write_text(json.dumps(CLASSIC_ROWS))
    return path


def bronze_files(lake: Path) -> list[str]:
    return sorted(read_manifest(p)["listener"] + "/" + read_manifest(p)["file_name"]
                  for p in (lake / "bronze" / "spotify" / "history").glob("listener=*/export=*"))


# --- 1. links ------------------------------------------------------------------------------------------

def test_no_link_is_followed_out_of_the_inbox_and_nothing_outside_changes(inbox, outside, tmp_path):
    lake = tmp_path / "lake"
    (inbox / "mallory").symlink_to(outside / "victim", target_is_directory=True)  # a listener folder
    (inbox / "ana" / "theirs").symlink_to(outside / "victim", target_is_directory=True)  # a folder in one
    (inbox / "ana" / "linked.json").symlink_to(outside / "secret.json")  # a file
    (inbox / "ana" / "dangling.json").symlink_to(outside / "not-there.json")
    (inbox / "root-link.json").symlink_to(outside / "secret.json")
    os.mkfifo(inbox / "ana" / "pipe.json")  # reading it would block the task
    before = tree(outside)

    pending = pending_exports(inbox, lake)
    result = ingest_exports(inbox, lake)

    assert tree(outside) == before, "something outside the inbox was read into, moved, created or deleted"
    assert bronze_files(lake) == ["ana/StreamingHistory_music_0.json"]
    assert inbox / "mallory" in pending  # to be rejected, so the sensor reports it
    reasons = {r["file"]: r["reason"] for r in result["rejected"]}
    assert "not a regular file" in reasons.pop("ana/pipe.json")
    assert set(reasons) == {"mallory", "root-link.json", "ana/theirs", "ana/linked.json", "ana/dangling.json"}
    assert all("symbolic link" in reason and "never follows links" in reason for reason in reasons.values())
    # the links themselves were moved aside, still pointing where they pointed
    assert os.readlink(inbox / "_rejected" / "_" / "mallory") == str(outside / "victim")
    assert os.readlink(inbox / "_rejected" / "ana" / "linked.json") == str(outside / "secret.json")
    assert "symbolic link" in (inbox / "_rejected" / "ana" / "theirs.reason.txt").read_text()
    assert pending_exports(inbox, lake) == []


@pytest.mark.parametrize("kept", ["_rejected", "ana/_ingested", "ana/_ingested/sub"])
def test_a_folder_pulse_keeps_that_is_a_link_stops_the_ingest_before_anything_is_written_through_it(
        inbox, outside, tmp_path, kept):
    (inbox / "ana" / "notes.txt").write_text("not an export")  # something to reject, too
    (inbox / "ana" / "sub").mkdir()
    (inbox / "ana" / "sub" / "StreamingHistory0.json").write_text(json.dumps(CLASSIC_ROWS))
    (outside / "StreamingHistory0.json").write_text(json.dumps(CLASSIC_ROWS))  # the same: would be read
    (inbox / kept).parent.mkdir(parents=True, exist_ok=True)
    (inbox / kept).symlink_to(outside, target_is_directory=True)
    before = tree(outside)

    with pytest.raises(UnsafeInbox, match=f"{kept} is a symbolic link: Pulse never writes through links"):
        ingest_exports(inbox, tmp_path / "lake")

    assert tree(outside) == before


# --- 11. any name the file system accepts -----------------------------------------------------------------

def test_a_name_as_long_as_the_file_system_allows_is_rejected_with_a_reason_file_that_fits(inbox, tmp_path):
    longest = "a" * (NAME_MAX - len(".json")) + ".json"
    accented = "é" * ((NAME_MAX - len(".json")) // 2) + ".json"  # two bytes a letter
    for name in (longest, accented):
        (inbox / "ana" / name).write_text("not an export")
    (inbox / "ana" / ("x" * NAME_MAX)).write_text(json.dumps(CLASSIC_ROWS * 2))  # an export with such a name

    result = ingest_exports(inbox, tmp_path / "lake")
    (inbox / "ana" / longest).write_text("dropped again")
    again = ingest_exports(inbox, tmp_path / "lake")

    assert (result["files_ingested"], result["files_rejected"], again["files_rejected"]) == (2, 2, 1)
    rejected = inbox / "_rejected" / "ana"
    assert (rejected / longest).read_text() == "not an export"
    names = sorted(p.name for p in rejected.iterdir())
    assert all(len(os.fsencode(name)) <= NAME_MAX for name in names)
    reasons = [p for p in rejected.iterdir() if p.name.endswith(".reason.txt")]
    assert len(reasons) == 3 and all("not JSON" in p.read_text() for p in reasons)
    assert (rejected / fitting_name(longest, ".reason.txt")).read_text().startswith(f"ana/{longest} was rejected")
    assert (inbox / "ana" / "_ingested" / ("x" * NAME_MAX)).is_file()


def test_a_name_that_is_not_utf8_is_ingested_or_rejected_like_any_other(inbox, tmp_path):
    export, other = os.fsdecode(b"caf\xe9 history.json"), os.fsdecode(b"\xff\xfe notes.json")
    (inbox / "ana" / export).write_text(json.dumps(CLASSIC_ROWS * 3))
    (inbox / "ana" / other).write_text("not an export")

    result = ingest_exports(inbox, tmp_path / "lake")

    assert (result["files_ingested"], result["files_rejected"]) == (2, 1)
    assert "\\xff\\xfe notes.json" in (inbox / "_rejected" / "ana" / f"{other}.reason.txt").read_text()
    assert "ana/caf\\xe9 history.json" in bronze_files(tmp_path / "lake")


def test_files_of_badly_named_folders_keep_a_folder_of_their_own(inbox, tmp_path):
    hostile = ["ana smith", "ana%smith", "ana\nsmith", "ana∕..∕etc", "é" * 100, "...x"]  # ∕: not a "/"
    for folder in hostile:
        (inbox / folder).mkdir()
        (inbox / folder / "StreamingHistory0.json").write_text(json.dumps(CLASSIC_ROWS))

    result = ingest_exports(inbox, tmp_path / "lake")

    assert result["files_rejected"] == len(hostile) - 1  # "...x" starts with ".": never looked at
    folders = [p for p in (inbox / "_rejected" / "_").iterdir()]
    assert len(folders) == len(hostile) - 1 and all(p.is_dir() and not p.name.startswith(".") for p in folders)
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == ["StreamingHistory0.json",
                                                            "StreamingHistory0.json.reason.txt"]
    suffixes = {p.name.rsplit("~", 1)[1] for p in folders}
    assert len(suffixes) == len(folders)
    assert suffixes <= {hashlib.sha256(os.fsencode(h)).hexdigest()[:8] for h in hostile}


def test_a_retried_ingest_says_its_counts_cover_only_its_own_attempt(inbox, outside, tmp_path):
    lake = tmp_path / "lake"
    (inbox / "ana" / "_ingested").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeInbox):  # the first attempt writes the export to bronze, then stops
        ingest_exports(inbox, lake)
    (inbox / "ana" / "_ingested").unlink()

    retry = ingest_exports(inbox, lake)

    assert bronze_files(lake) == ["ana/StreamingHistory_music_0.json"]
    assert (retry["files_ingested"], retry["files_skipped"]) == (0, 1)
    assert retry["counts_cover"].startswith("this attempt")
