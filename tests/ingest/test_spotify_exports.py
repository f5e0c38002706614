"""The streaming-history export inbox → bronze: formats told by fields, one partition per file content,
re-drops that change nothing, and files that are not exports rejected loudly, moved and counted."""

from __future__ import annotations

import json
import logging
import shutil
import zipfile
from pathlib import Path

from deltalake import DeltaTable

from pulse.lake import read_bronze, read_manifest
from pulse.spotify_exports import (
    CLASSIC,
    EXTENDED,
    EXTENDED_FIELDS,
    EXTENDED_LEGACY,
    EXTENDED_LEGACY_FIELDS,
    export_format,
    export_partition,
    file_digest,
    inbox_root,
    ingest_exports,
    pending_exports,
)

HISTORY = Path("spotify") / "history"
# The five real files come from four people: the two spotify-music-analysis files are one listener's.
REAL_FILES = {
    "r-spotify-history-analysis__StreamingHistory0.json": ("cosmo", CLASSIC, 6866),
    "spotify-habits-data-analysis__StreamingHistory_music_0.json": ("lau", CLASSIC, 8611),
    "Spotify-Shuffle-Analysis__endsong_1.json": ("erick", EXTENDED_LEGACY, 2080),
    "spotify-music-analysis__Streaming_History_Audio_2024.json": ("efrrowini", EXTENDED, 3154),
    "spotify-music-analysis__Streaming_History_Audio_2026.json": ("efrrowini", EXTENDED, 2319),
}

CLASSIC_ROWS = [
    {"endTime": "2024-04-16 18:57", "artistName": "Rigoberta Bandini", "trackName": "Too Many Drugs",
     "msPlayed": 272360},
    {"endTime": "2024-04-17 09:32", "artistName": "Unknown Artist", "trackName": "Unknown Track", "msPlayed": 0},
]
PODCAST_ROWS = [{"endTime": "2024-04-18 07:00", "podcastName": "The Daily", "episodeName": "Monday", "msPlayed": 61000}]


def extended_row(**overrides) -> dict:
    row = {field: None for field in sorted(EXTENDED_FIELDS)}
    row.update({"ts": "2024-08-02T11:56:55Z", "platform": "android", "ms_played": 11677, "conn_country": "IN",
                "ip_addr": "203.0.113.7", "master_metadata_track_name": "Moments",
                "master_metadata_album_artist_name": "MitiS", "master_metadata_album_album_name": "'Til the End",
                "spotify_track_uri": "spotify:track:2QWGkc7Tnz6672asv4BtLi", "shuffle": True, "skipped": False,
                "offline": False, "offline_timestamp": 1722558601, "incognito_mode": False})
    row.update(overrides)
    return row


def legacy_row(**overrides) -> dict:
    row = {field: None for field in sorted(EXTENDED_LEGACY_FIELDS)}
    row.update({"ts": "2021-09-21T19:38:59Z", "username": "someone", "ms_played": 14450,
                "ip_addr_decrypted": "198.51.100.2", "user_agent_decrypted": "unknown",
                "master_metadata_track_name": "Colors of Fall", "master_metadata_album_artist_name": "Kendall Miles",
                "spotify_track_uri": "spotify:track:1S0ZfOXMfiF49JvPGVQ2YZ", "offline_timestamp": 1632253124315})
    row.update(overrides)
    return row


def drop(inbox: Path, listener: str, name: str, content: object | bytes | str) -> Path:
    path = inbox / listener / name if listener else inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content, indent=2))
    return path


def partitions(lake: Path) -> list[Path]:
    return sorted((lake / "bronze" / HISTORY).glob("listener=*/export=*"))


def payloads(partition: Path) -> list[dict]:
    table = read_bronze(partition).sort_by("record_index")
    return [json.loads(p) for p in table.column("payload").to_pylist()]


# --- formats -------------------------------------------------------------------------------------------

def test_each_format_is_told_by_its_fields():
    assert export_format(set(CLASSIC_ROWS[0])) == CLASSIC
    assert export_format(set(PODCAST_ROWS[0])) == CLASSIC
    assert export_format(set(legacy_row())) == EXTENDED_LEGACY
    assert export_format(set(extended_row())) == EXTENDED
    assert export_format({"endTime", "artistName", "trackName"}) is None  # no msPlayed
    assert export_format(set(extended_row()) | {"favourite_colour"}) is None
    assert export_format({"ts", "ms_played"}) is None


def test_a_classic_file_renamed_endsong_is_still_read_as_classic(inbox, lake):
    drop(inbox, "ana", "endsong_0.json", CLASSIC_ROWS)

    result = ingest_exports(inbox, lake)

    assert result["rows_by_format"] == {CLASSIC: 2, EXTENDED_LEGACY: 0, EXTENDED: 0}
    [partition] = partitions(lake)
    assert read_manifest(partition)["format"] == CLASSIC


def test_an_extended_file_named_like_a_classic_one_is_read_as_extended(inbox, lake):
    drop(inbox, "ana", "StreamingHistory0.json", [extended_row()])

    ingest_exports(inbox, lake)

    assert read_manifest(partitions(lake)[0])["format"] == EXTENDED


# --- one partition per file content --------------------------------------------------------------------

def test_an_export_becomes_one_partition_named_by_its_content_with_its_rows_as_in_the_file(inbox, lake):
    rows = [legacy_row(), legacy_row(ts="2020-07-08T04:56:20Z", ms_played=275586, skipped=None)]
    path = drop(inbox, "ana", "endsong_1.json", rows)
    sha256, size = file_digest(path)

    result = ingest_exports(inbox, lake)

    partition = export_partition(lake, "ana", sha256)
    assert partition == lake / "bronze" / HISTORY / "listener=ana" / f"export={sha256[:16]}"
    assert payloads(partition) == rows  # personal fields too: they stay in bronze
    table = read_bronze(partition).sort_by("record_index")
    assert table.column("record_index").to_pylist() == [0, 1]
    assert set(table.column("source").to_pylist()) == {"spotify"}
    assert set(table.column("endpoint").to_pylist()) == {"history"}
    manifest = read_manifest(partition)
    assert {k: manifest[k] for k in ("file_name", "format", "rows", "sha256", "size_bytes", "listener")} == {
        "file_name": "endsong_1.json", "format": EXTENDED_LEGACY, "rows": 2, "sha256": sha256, "size_bytes": size,
        "listener": "ana"}
    assert result["files_ingested"] == 1
    assert (inbox / "ana" / "_ingested" / "endsong_1.json").is_file()
    assert not path.exists()


def test_redropping_the_same_file_under_any_name_adds_nothing(inbox, lake, caplog):
    original = drop(inbox, "ana", "StreamingHistory_music_0.json", CLASSIC_ROWS)
    content = original.read_bytes()
    ingest_exports(inbox, lake)
    [partition] = partitions(lake)
    version = DeltaTable(str(lake / "bronze" / HISTORY)).version()

    drop(inbox, "ana", "StreamingHistory_music_0.json", content)
    drop(inbox, "ana", "my history (copy).json", content)
    assert len(pending_exports(inbox, lake)) == 0  # nothing new to ingest
    with caplog.at_level(logging.INFO, logger="pulse.spotify_exports"):
        result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_skipped"], result["files_rejected"]) == (0, 2, 0)
    assert sum(result["rows_by_format"].values()) == 0
    assert partitions(lake) == [partition]
    assert DeltaTable(str(lake / "bronze" / HISTORY)).version() == version  # nothing written again
    assert "my history (copy).json is already in bronze" in caplog.text
    assert sorted(p.name for p in (inbox / "ana").iterdir()) == ["_ingested"]


def test_the_same_file_from_two_listeners_is_two_listeners_plays(inbox, lake):
    drop(inbox, "ana", "a.json", CLASSIC_ROWS)
    drop(inbox, "ben", "b.json", CLASSIC_ROWS)

    assert ingest_exports(inbox, lake)["files_ingested"] == 2
    assert [p.parent.name for p in partitions(lake)] == ["listener=ana", "listener=ben"]


def test_files_in_sub_folders_of_a_listener_are_ingested(inbox, lake):
    drop(inbox, "ana", "my_spotify_data/Spotify Account Data/StreamingHistory_podcast_0.json", PODCAST_ROWS)

    result = ingest_exports(inbox, lake)

    assert result["files_ingested"] == 1
    assert (inbox / "ana" / "_ingested" / "my_spotify_data" / "Spotify Account Data"
            / "StreamingHistory_podcast_0.json").is_file()


def test_pending_exports_lists_new_files_until_they_are_ingested(inbox, lake):
    assert pending_exports(inbox, lake) == []
    new = drop(inbox, "ana", "a.json", CLASSIC_ROWS)
    stray = drop(inbox, None, "stray.json", CLASSIC_ROWS)
    drop(inbox, "ana", ".copying.json", "[{")  # a copy in progress is not looked at

    assert pending_exports(inbox, lake) == [new, stray]
    ingest_exports(inbox, lake)
    assert pending_exports(inbox, lake) == []


def test_the_inbox_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SPOTIFY_INBOX", str(tmp_path / "drop"))
    assert inbox_root() == (tmp_path / "drop").resolve()
    monkeypatch.delenv("PULSE_SPOTIFY_INBOX")
    monkeypatch.setenv("PULSE_HOME", str(tmp_path / "home"))
    assert inbox_root() == (tmp_path / "home" / "inbox" / "spotify").resolve()


# --- rejections ----------------------------------------------------------------------------------------

NOT_EXPORTS = {
    "notes.txt": ("not JSON", "these are my notes"),
    "broken.json": ("not JSON", b'[{"endTime": "2024-01-01 10:00", "artistName": "A"'),
    "empty.json": ("the file is empty", b""),
    "profile.json": ("not a JSON list (it starts with a map)", {"username": "x", "country": "NL"}),
    "numbers.json": ("row 0 is a JSON int, not an object", [1, 2, 3]),
    "nothing.json": ("an empty list", []),
    "tags.json": ("fields no Spotify export has: inferences", [{"inferences": ["a"]}]),
    "mixed.json": ("row 1 is extended but row 0 is classic", [CLASSIC_ROWS[0], extended_row()]),
    "extra_field.json": ("fields no Spotify export has: mood", [CLASSIC_ROWS[0], {**CLASSIC_ROWS[1], "mood": "x"}]),
}


def test_a_file_that_is_not_an_export_is_rejected_moved_and_counted_and_the_others_still_ingest(
        inbox, lake, caplog):
    for name, (_, content) in NOT_EXPORTS.items():
        drop(inbox, "ana", name, content)
    drop(inbox, "ana", "StreamingHistory_music_0.json", CLASSIC_ROWS)

    with caplog.at_level(logging.INFO, logger="pulse.spotify_exports"):
        result = ingest_exports(inbox, lake)

    assert result["files_ingested"] == 1 and result["rows_by_format"][CLASSIC] == 2
    assert result["files_rejected"] == len(NOT_EXPORTS)
    reasons = {Path(r["file"]).name: r["reason"] for r in result["rejected"]}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == len(NOT_EXPORTS)
    for name, (reason, _) in NOT_EXPORTS.items():
        assert reason in reasons[name], name
        [line] = [e for e in errors if f"ana/{name} rejected" in e]
        assert reason in line
        moved = inbox / "_rejected" / "ana" / name
        assert moved.is_file() and not (inbox / "ana" / name).exists()
        assert reason in (inbox / "_rejected" / "ana" / f"{name}.reason.txt").read_text()
    assert len(partitions(lake)) == 1
    assert not list((lake / "bronze" / HISTORY).glob("listener=ana/.*"))  # no half-written partition left


def test_a_file_in_the_inbox_root_or_under_a_bad_listener_name_is_rejected(inbox, lake):
    drop(inbox, None, "StreamingHistory0.json", CLASSIC_ROWS)
    drop(inbox, "ana smith", "StreamingHistory0.json", CLASSIC_ROWS)

    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (0, 2)
    assert "directly in the inbox root" in (inbox / "_rejected" / "_" / "StreamingHistory0.json.reason.txt").read_text()
    [folder] = [p for p in (inbox / "_rejected" / "_").iterdir() if p.is_dir()]
    assert folder.name.startswith("ana_smith~")  # its own folder, named safely
    assert "'ana smith' is not a listener name" in (folder / "StreamingHistory0.json.reason.txt").read_text()
    assert partitions(lake) == []


def test_a_file_rejected_twice_keeps_both_copies(inbox, lake):
    drop(inbox, "ana", "notes.json", "first")
    ingest_exports(inbox, lake)
    drop(inbox, "ana", "notes.json", "second")
    ingest_exports(inbox, lake)

    rejected = inbox / "_rejected" / "ana"
    assert (rejected / "notes.json").read_text() == "first"
    assert (rejected / "notes.1.json").read_text() == "second"
    assert (rejected / "notes.1.json.reason.txt").is_file()


def test_a_byte_order_mark_does_not_make_an_export_unreadable(inbox, lake):
    drop(inbox, "ana", "bom.json", b"\xef\xbb\xbf" + json.dumps(CLASSIC_ROWS).encode())
    assert ingest_exports(inbox, lake)["files_ingested"] == 1


# --- the real exports ----------------------------------------------------------------------------------

def test_every_real_export_is_read_with_its_format_and_all_its_rows(realdata, inbox, lake):
    history = realdata / "spotify" / "history"
    for name, (listener, _, _) in REAL_FILES.items():
        (inbox / listener).mkdir(exist_ok=True)
        shutil.copy(history / name, inbox / listener / name)

    result = ingest_exports(inbox, lake)

    assert result["files_ingested"] == 5 and result["files_rejected"] == 0
    by_file = {read_manifest(p)["file_name"]: read_manifest(p) for p in partitions(lake)}
    for name, (listener, file_format, rows) in REAL_FILES.items():
        manifest = by_file[name]
        assert (manifest["listener"], manifest["format"], manifest["rows"]) == (listener, file_format, rows), name
        raw = json.loads((history / name).read_text())
        partition = export_partition(lake, listener, manifest["sha256"])
        assert payloads(partition) == raw, name


def test_without_arguments_the_configured_inbox_and_lake_are_used(monkeypatch, inbox, lake):
    monkeypatch.setenv("PULSE_SPOTIFY_INBOX", str(inbox))
    monkeypatch.setenv("PULSE_LAKE_ROOT", str(lake))
    drop(inbox, "ana", "a.json", CLASSIC_ROWS)

    assert pending_exports() == [inbox / "ana" / "a.json"]
    assert ingest_exports()["files_ingested"] == 1
    assert len(partitions(lake)) == 1


# --- the archives Spotify delivers ---------------------------------------------------------------------

# What Spotify ships beside the history, by the names it gives them (in "Spotify Account Data/" of
# my_spotify_data.zip, "Spotify Extended Streaming History/" of the extended one).
ACCOUNT_FILES = {
    "Userdata.json": {"username": "someone", "email": "someone@example.org", "country": "NL"},
    "Payments.json": {"payment_method": "Card", "country": "NL"},
    "Playlist1.json": {"playlists": [{"name": "Mine", "items": []}]},
    "Follow.json": {"followerCount": 3, "followingUsersCount": 5, "dismissingUsersCount": 0},
    "Inferences.json": {"inferences": ["1P_Custom_Audience"]},
    "Identifiers.json": {"identifierType": "email", "identifierValue": "someone@example.org"},
    "SearchQueries.json": [{"platform": "ANDROID", "searchTime": "2024-05-01T10:00:00Z", "searchQuery": "x",
                            "searchInteractionURIs": []}],
    "YourLibrary.json": {"tracks": [], "albums": [], "shows": []},
    "Marquee.json": [{"artistName": "A", "segment": "Light listeners"}],
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def account_data_zip(realdata: Path, path: Path, extra: dict[str, bytes] | None = None) -> Path:
    """``my_spotify_data.zip`` as Spotify sends "Account data": the classic history beside the account files."""
    history = realdata / "spotify" / "history"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        folder = "Spotify Account Data"
        archive.write(history / "spotify-habits-data-analysis__StreamingHistory_music_0.json",
                      f"{folder}/StreamingHistory_music_0.json")
        archive.writestr(f"{folder}/StreamingHistory_podcast_0.json", json.dumps(PODCAST_ROWS))
        for name, content in ACCOUNT_FILES.items():
            archive.writestr(f"{folder}/{name}", json.dumps(content, indent=2))
        archive.writestr(f"{folder}/ReadMeFirst_AccountData.pdf", PDF)
        for name, content in (extra or {}).items():
            archive.writestr(f"{folder}/{name}", content)
    return path


def extended_history_zip(realdata: Path, path: Path) -> Path:
    """The "Extended streaming history" archive, as dropped: the real 2024 and 2026 files and the ReadMe."""
    history = realdata / "spotify" / "history"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        folder = "Spotify Extended Streaming History"
        for year in ("2024", "2026"):
            archive.write(history / f"spotify-music-analysis__Streaming_History_Audio_{year}.json",
                          f"{folder}/Streaming_History_Audio_{year}.json")
        archive.writestr(f"{folder}/ReadMeFirst_ExtendedStreamingHistory.pdf", PDF)
    return path


def test_the_account_data_archive_is_read_as_if_unzipped_and_its_other_files_skipped_with_one_line(
        realdata, inbox, lake, caplog, monkeypatch):
    def no_extraction(*args, **kwargs):
        raise AssertionError("an archive is streamed, never extracted to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", no_extraction)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_extraction)
    (inbox / "ana").mkdir()
    archive = account_data_zip(realdata, inbox / "ana" / "my_spotify_data.zip")
    assert pending_exports(inbox, lake) == [archive]

    with caplog.at_level(logging.INFO, logger="pulse.spotify_exports"):
        result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_account_data"], result["files_rejected"]) == (
        2, len(ACCOUNT_FILES) + 1, 0)
    assert result["rows_by_format"][CLASSIC] == 8611 + 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    [line] = [r.getMessage() for r in caplog.records if "account-data files" in r.getMessage()
              and "my_spotify_data.zip" in r.getMessage()]
    assert all(name in line for name in [*ACCOUNT_FILES, "ReadMeFirst_AccountData.pdf"])
    manifests = {read_manifest(p)["file_name"]: p for p in partitions(lake)}
    music = manifests["my_spotify_data.zip/Spotify Account Data/StreamingHistory_music_0.json"]
    real = realdata / "spotify" / "history" / "spotify-habits-data-analysis__StreamingHistory_music_0.json"
    assert payloads(music) == json.loads(real.read_text())
    assert read_manifest(music)["sha256"] == file_digest(real)[0]  # the member's bytes, as if unzipped
    assert sorted(p.name for p in (inbox / "ana").iterdir()) == ["_ingested"]
    assert (inbox / "ana" / "_ingested" / "my_spotify_data.zip").is_file()
    assert pending_exports(inbox, lake) == []


def test_a_file_in_an_archive_that_is_not_an_export_is_still_rejected_with_its_reason(realdata, inbox, lake):
    (inbox / "ana").mkdir()
    account_data_zip(realdata, inbox / "ana" / "my_spotify_data.zip",
                     {"notes.txt": b"my own notes", "Playlist2.json": b"[]"})

    result = ingest_exports(inbox, lake)

    assert result["files_ingested"] == 2 and result["files_account_data"] == len(ACCOUNT_FILES) + 2
    [rejected] = result["rejected"]
    assert rejected["file"] == "ana/my_spotify_data.zip/Spotify Account Data/notes.txt"
    assert "not JSON" in rejected["reason"]
    copied = inbox / "_rejected" / "ana" / "my_spotify_data.zip" / "Spotify Account Data"
    assert (copied / "notes.txt").read_bytes() == b"my own notes"
    assert "not JSON" in (copied / "notes.txt.reason.txt").read_text()


def test_the_same_archive_dropped_twice_counts_nothing_twice(realdata, inbox, lake, tmp_path):
    (inbox / "efrrowini").mkdir()
    first = extended_history_zip(realdata, tmp_path / "my_spotify_data.zip")
    shutil.copy(first, inbox / "efrrowini" / "my_spotify_data.zip")
    result = ingest_exports(inbox, lake)
    assert (result["files_ingested"], result["rows_by_format"][EXTENDED]) == (2, 3154 + 2319)
    version = DeltaTable(str(lake / "bronze" / HISTORY)).version()

    shutil.copy(first, inbox / "efrrowini" / "my_spotify_data.zip")
    shutil.copy(first, inbox / "efrrowini" / "my_spotify_data (1).zip")  # the browser's second download
    for year in ("2024", "2026"):  # and the same files unzipped by hand
        shutil.copy(realdata / "spotify" / "history" / f"spotify-music-analysis__Streaming_History_Audio_{year}.json",
                    inbox / "efrrowini" / f"Streaming_History_Audio_{year}.json")
    assert pending_exports(inbox, lake) == []
    again = ingest_exports(inbox, lake)

    assert (again["files_ingested"], again["files_skipped"], again["files_rejected"]) == (0, 6, 0)
    assert sum(again["rows_by_format"].values()) == 0
    assert DeltaTable(str(lake / "bronze" / HISTORY)).version() == version
    assert len(partitions(lake)) == 2


def test_an_archive_that_cannot_be_read_is_rejected_whole(inbox, lake):
    drop(inbox, "ana", "my_spotify_data.zip", b"PK\x03\x04" + b"\x00" * 200)

    result = ingest_exports(inbox, lake)

    [rejected] = result["rejected"]
    assert rejected["file"] == "ana/my_spotify_data.zip" and "a zip archive that cannot be read" in rejected["reason"]
    assert (inbox / "_rejected" / "ana" / "my_spotify_data.zip.reason.txt").is_file()
