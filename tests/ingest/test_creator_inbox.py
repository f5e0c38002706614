"""The creator export inbox: the real exports of shared/realdata dropped into ``<inbox>/<account>/`` land in
bronze, one table per format, as the readers give them; zips and xlsx workbooks too; what is not an export is
rejected with its reason; nothing counts twice; no link is followed.

Expected row counts and sums come from the csv module (or openpyxl) over the same bytes, never from the
reader's own output."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deltalake import DeltaTable

from pulse.creator_inbox import (
    DATASETS,
    inbox_root,
    ingest_exports,
    latest_rows,
    pending_exports,
)
from pulse.inbox import UnsafeInbox
from pulse.lake import read_bronze, read_manifest
from tests.ingest.file_tree import tree

STUDIO = Path("creator/sources/youtube_studio_exports")
LAYLA = STUDIO / "Layla-Damoyi_youtube-engagement-dashboard"
ADI_TABLE = STUDIO / "buildwithadi_youtube-analyis-of-my-sister-youtube-channel" / "Table data.csv"
META_IG = Path("creator/sources/instagram_graph_api/meta_business_suite_exports") / \
    "instagram_posts_export_sample_transcribed.csv"
TIKTOK = Path("creator/sources/tiktok/tiktok_studio_exports/Content_sample_transcribed.csv")
IG_INSIGHTS = Path("creator/datasets/instagram_post_performance.csv")
DOWNLOADED = datetime(2026, 12, 4, 12, tzinfo=UTC)  # the real TikTok sample's year-less days need a download day


def records(data: bytes) -> list[dict[str, str]]:
    """The file's records as the csv module reads them, Studio's Total row left out."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return [r for r in rows if next(iter(r.values())) != "Total"]


def drop(inbox: Path, relative: str, data: bytes, downloaded: datetime = DOWNLOADED) -> Path:
    path = inbox / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (downloaded.timestamp(), downloaded.timestamp()))
    return path


def bronze(lake: Path, dataset: str) -> dict[str, dict]:
    """Per export partition of a bronze table: its manifest and its payloads, in file order."""
    found = {}
    for partition in sorted((lake / "bronze" / "creator" / dataset).glob("account=*/export=*")):
        table = read_bronze(partition).sort_by("record_index")
        found[f"{partition.parent.name}/{partition.name}"] = {
            "manifest": read_manifest(partition),
            "payloads": [json.loads(p) for p in table.column("payload").to_pylist()],
            "request_urls": set(table.column("request_url").to_pylist()),
        }
    return found


# --- every real format into bronze -----------------------------------------------------------------------

def test_every_real_export_lands_in_bronze_of_its_format_with_every_row_and_moves_to_ingested(realdata, inbox, lake):
    real = {  # inbox path → (the real file, the bronze table it lands in)
        "layla/Table data.csv": (LAYLA / "Table data.csv", "youtube_studio_table"),
        "layla/Chart data.csv": (LAYLA / "Chart data.csv", "youtube_studio_chart"),
        "layla/Totals.csv": (LAYLA / "Totals.csv", "youtube_studio_totals"),
        "adi/studio/Table data.csv": (ADI_TABLE, "youtube_studio_table"),
        "clever/Instagram data.csv": (IG_INSIGHTS, "instagram_insights_posts"),
        "andrew_ig/posts.csv": (META_IG, "instagram_meta_business_suite_posts"),
        "andrewaltair/Content.csv": (TIKTOK, "tiktok_studio_content"),
    }
    for relative, (source, _) in real.items():
        drop(inbox, relative, (realdata / source).read_bytes())

    assert sorted(p.relative_to(inbox).as_posix() for p in pending_exports(inbox, lake)) == sorted(real)
    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"], result["files_skipped"]) == (len(real), 0, 0)
    for relative, (source, dataset) in real.items():
        data = (realdata / source).read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        account, name = relative.split("/", 1)
        (export,) = [e for key, e in bronze(lake, dataset).items() if key == f"account={account}/export={sha256[:16]}"]
        assert len(export["payloads"]) == export["manifest"]["rows"] == len(records(data)), relative
        assert (export["manifest"]["sha256"], export["manifest"]["file_name"]) == (sha256, name)
        assert export["request_urls"] <= {f"inbox:{relative}"}
        assert (inbox / account / "_ingested" / name).read_bytes() == data
        assert not (inbox / relative).exists()
    assert sum(result["rows_by_format"].values()) == sum(len(records((realdata / s).read_bytes()))
                                                         for s, _ in real.values())
    assert pending_exports(inbox, lake) == []


def test_the_instagram_export_in_bronze_sums_as_the_csv_module_does(realdata, inbox, lake):
    data = (realdata / IG_INSIGHTS).read_bytes()
    drop(inbox, "thecleverprogrammer/Instagram data.csv", data)
    ingest_exports(inbox, lake)

    (export,) = bronze(lake, "instagram_insights_posts").values()
    rows = export["payloads"]
    for column, key in [("Likes", "likes"), ("Comments", "comments"), ("Shares", "shares"), ("Saves", "saves"),
                        ("Impressions", "impressions")]:
        assert sum(r[key] for r in rows) == sum(int(r[column]) for r in records(data)), column
    assert [r["published"] for r in rows] == [r["Date"] for r in records(data)]
    assert {r["as_of"] for r in rows} == {"2026-12-04"}


def test_a_studio_table_without_a_period_in_its_name_takes_it_from_the_totals_beside_it(realdata, inbox, lake):
    for name in ("Table data.csv", "Totals.csv"):
        drop(inbox, f"layla/april/{name}", (realdata / LAYLA / name).read_bytes())
    ingest_exports(inbox, lake)

    (table,) = bronze(lake, "youtube_studio_table").values()
    assert (table["manifest"]["period_start"], table["manifest"]["period_end"]) == ("2026-04-07", "2026-05-04")
    assert {(r["period_start"], r["metric_definition"]) for r in table["payloads"]} == {
        ("2026-04-07", "youtube_views_playback_start")}


# --- zips and workbooks -------------------------------------------------------------------------------

def test_the_studio_zip_is_read_member_by_member_and_moved_whole(realdata, inbox, lake):
    folder = "Content 2026-04-07_2026-05-04 Layla Damoyi"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("Table data.csv", "Chart data.csv", "Totals.csv"):
            z.write(realdata / LAYLA / name, f"{folder}/{name}")
        z.writestr("__MACOSX/._Totals.csv", b"\x00\x05\x16\x07")
    drop(inbox, f"layla/{folder}.zip", buffer.getvalue())

    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (3, 0)
    (table,) = bronze(lake, "youtube_studio_table").values()
    assert table["manifest"]["member"] == f"{folder}/Table data.csv"
    assert table["manifest"]["export_account"] == "Layla Damoyi"
    assert table["request_urls"] == {f"inbox:layla/{folder}.zip/{folder}/Table data.csv"}
    assert len(table["payloads"]) == len(records((realdata / LAYLA / "Table data.csv").read_bytes()))
    (totals,) = bronze(lake, "youtube_studio_totals").values()
    assert len(totals["payloads"]) == len(records((realdata / LAYLA / "Totals.csv").read_bytes()))
    assert [p.name for p in (inbox / "layla" / "_ingested").iterdir()] == [f"{folder}.zip"]


def tiktok_workbook(realdata: Path) -> tuple[bytes, list[str]]:
    """An xlsx as TikTok Studio downloads it: an Overview sheet (two days, one ``undefined``) and a Content
    sheet holding the real Content sample's row (numbers as numbers); and that row as the csv module reads it."""
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl (requirements.txt) is not installed: make install")
    header, row = list(csv.reader(io.StringIO((realdata / TIKTOK).read_text(encoding="utf-8"), newline="")))
    book = openpyxl.Workbook()
    overview = book.active
    overview.title = "Overview"
    overview.append(["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"])
    overview.append(["January 18", 30000, "undefined", 600, 170, 122])
    overview.append(["January 19", 1200, 14, 31, 2, 1])
    content = book.create_sheet("Content")
    content.append(header)
    content.append(row[:4] + [int(v) for v in row[4:]])
    workbook = io.BytesIO()
    book.save(workbook)
    return workbook.getvalue(), row


def test_a_loose_xlsx_workbook_gives_the_export_of_each_of_its_sheets(realdata, inbox, lake):
    workbook, _ = tiktok_workbook(realdata)
    drop(inbox, "andrewaltair/Content.xlsx", workbook)

    assert pending_exports(inbox, lake) == [inbox / "andrewaltair" / "Content.xlsx"]
    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (1, 0)
    assert (result["rows_by_format"]["tiktok_studio_content"], result["rows_by_format"]["tiktok_studio_overview"]) \
        == (1, 2)
    assert (inbox / "andrewaltair" / "_ingested" / "Content.xlsx").read_bytes() == workbook
    assert pending_exports(inbox, lake) == []


def test_a_tiktok_zip_gives_both_sheets_of_its_xlsx_skips_audience_files_and_rejects_the_rest(realdata, inbox, lake):
    workbook, row = tiktok_workbook(realdata)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Content.xlsx", workbook)
        z.writestr("FollowerGender.csv", '"Gender","Distribution"\n"Female","0.59"\n"Male","0.41"\n')
        z.writestr("notes.txt", "my export\n")
    drop(inbox, "andrewaltair/tiktok.zip", buffer.getvalue())

    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_companion"], result["files_rejected"]) == (1, 1, 1)
    assert (result["rows_by_format"]["tiktok_studio_content"], result["rows_by_format"]["tiktok_studio_overview"]) \
        == (1, 2)
    (posts,) = bronze(lake, "tiktok_studio_content").values()
    (days,) = bronze(lake, "tiktok_studio_overview").values()
    assert posts["manifest"]["sha256"] == days["manifest"]["sha256"]  # one file, two exports
    (post,) = posts["payloads"]
    assert (post["content_id"], post["published"], post["views"]) == ("7593820674163100946", "2026-01-10", int(row[7]))
    assert [(d["date"], d["profile_visits"]) for d in days["payloads"]] == [("2026-01-18", None), ("2026-01-19", 14)]
    rejected = inbox / "_rejected" / "andrewaltair" / "tiktok.zip"
    assert (rejected / "notes.txt").read_text() == "my export\n"
    assert "no creator export's" in (rejected / "notes.txt.reason.txt").read_text()
    assert (inbox / "andrewaltair" / "_ingested" / "tiktok.zip").is_file()


def test_an_encrypted_file_in_a_zip_is_rejected_with_its_reason_and_the_rest_of_the_zip_still_ingests(
        realdata, inbox, lake):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("Totals.csv", (realdata / LAYLA / "Totals.csv").read_bytes())
        z.writestr("secret/Table data.csv", (realdata / ADI_TABLE).read_bytes())
    archive = bytearray(buffer.getvalue())
    entry = archive.rfind(b"PK\x01\x02")  # the last central-directory entry: secret/Table data.csv
    archive[entry + 8] |= 1  # its "encrypted" flag: zipfile then asks for a password
    drop(inbox, "layla/studio.zip", bytes(archive))

    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (1, 1)
    assert "encrypted" in result["rejected"][0]["reason"]
    rejected = inbox / "_rejected" / "layla" / "studio.zip" / "secret"
    assert "not copied here" in (rejected / "Table data.csv.reason.txt").read_text()
    assert not (rejected / "Table data.csv").exists()
    assert (inbox / "layla" / "_ingested" / "studio.zip").is_file()


# --- rejections --------------------------------------------------------------------------------------

def test_files_that_are_not_exports_are_rejected_with_their_reason_and_the_others_still_ingest(realdata, inbox, lake):
    adi = (realdata / ADI_TABLE).read_bytes()
    drop(inbox, "adi/Table data.csv", adi)
    drop(inbox, "adi/notes.txt", b"my notes\n")
    drop(inbox, "adi/broken.csv", adi.replace(b",58005,", b",lots,", 1))
    drop(inbox, "adi/history.json", b'[{"endTime": "2024-01-01 10:00"}]')
    drop(inbox, "loose.csv", adi)
    drop(inbox, "not an account!/Table data.csv", adi)
    drop(inbox, "adi/.copying.csv", b"half a fi")  # a copy in progress is not looked at

    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (1, 5)
    reasons = {r["file"]: r["reason"] for r in result["rejected"]}
    assert "no creator export's" in reasons["adi/notes.txt"]
    assert "line 3: Views: 'lots' is not a number" in reasons["adi/broken.csv"]
    assert "Spotify" in reasons["adi/history.json"]
    assert "directly in the inbox root" in reasons["loose.csv"]
    assert "not an account name" in reasons["not an account!/Table data.csv"]
    assert "line 3" in (inbox / "_rejected" / "adi" / "broken.csv.reason.txt").read_text()
    assert (inbox / "_rejected" / "adi" / "notes.txt").read_bytes() == b"my notes\n"
    assert (inbox / "adi" / ".copying.csv").exists()
    assert list(bronze(lake, "youtube_studio_table")) == [f"account=adi/export={hashlib.sha256(adi).hexdigest()[:16]}"]


# --- nothing counts twice -------------------------------------------------------------------------------

def test_the_same_file_dropped_again_under_another_name_or_zipped_adds_nothing(realdata, inbox, lake):
    data = (realdata / IG_INSIGHTS).read_bytes()
    drop(inbox, "clever/Instagram data.csv", data)
    ingest_exports(inbox, lake)
    table = lake / "bronze" / "creator" / "instagram_insights_posts"
    version = DeltaTable(str(table)).version()

    drop(inbox, "clever/again/copy of it.csv", data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("export/Instagram data.csv", data)
    drop(inbox, "clever/zipped.zip", buffer.getvalue())
    assert pending_exports(inbox, lake) == []  # nothing new: the sensor does not wake the ingest for it
    again = ingest_exports(inbox, lake)

    assert (again["files_ingested"], again["files_skipped"]) == (0, 2)
    assert DeltaTable(str(table)).version() == version
    assert read_bronze(table).num_rows == len(records(data))
    assert (inbox / "clever" / "_ingested" / "again" / "copy of it.csv").is_file()
    assert (inbox / "clever" / "_ingested" / "zipped.zip").is_file()


def test_overlapping_exports_count_each_post_once_and_the_latest_download_wins(realdata, inbox, lake):
    data = (realdata / IG_INSIGHTS).read_bytes()
    lines = data.decode("utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    assert len(rows) == len(records(data))  # one line per post: the captions hold no line breaks
    early, late = rows[:120], rows[60:]
    # The later download's overlapping posts have more likes (the 10th column), as a post gains them.
    bumped = []
    for line in late:
        cells = next(csv.reader([line]))
        cells[9] = str(int(cells[9]) + 1000)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(cells)
        bumped.append(out.getvalue())
    # The later download is dropped first: "latest" is the download, not the drop.
    drop(inbox, "clever/june.csv", (header + "".join(bumped)).encode(), datetime(2022, 6, 4, tzinfo=UTC))
    ingest_exports(inbox, lake)
    drop(inbox, "clever/may.csv", (header + "".join(early)).encode(), datetime(2022, 5, 20, tzinfo=UTC))
    ingest_exports(inbox, lake)

    assert read_bronze(lake / "bronze" / "creator" / "instagram_insights_posts").num_rows == 120 + 116  # as dropped
    current = latest_rows(lake, "instagram_insights_posts")
    expected = records(data)
    assert len(current) == len({r["content_id"] for r in current}) == len(expected) == 176
    assert sum(r["likes"] for r in current) == sum(int(r["Likes"]) for r in expected) + 1000 * len(late)
    assert sum(r["as_of"] == "2022-06-04" for r in current) == len(late)
    assert sum(r["as_of"] == "2022-05-20" for r in current) == 60  # only the posts June's export lacks


# --- links ------------------------------------------------------------------------------------------

def test_no_link_is_followed_out_of_the_inbox_and_nothing_outside_changes(realdata, inbox, lake, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "victim").mkdir(parents=True)
    secret = (realdata / ADI_TABLE).read_bytes()
    (outside / "victim" / "Table data.csv").write_bytes(secret)
    (outside / "secret.csv").write_bytes(secret)
    drop(inbox, "adi/Totals.csv", (realdata / LAYLA / "Totals.csv").read_bytes())
    (inbox / "mallory").symlink_to(outside / "victim", target_is_directory=True)  # an account folder
    (inbox / "adi" / "theirs").symlink_to(outside / "victim", target_is_directory=True)  # a folder in one
    (inbox / "adi" / "linked.csv").symlink_to(outside / "secret.csv")  # a file
    before = tree(outside)

    assert inbox / "mallory" in pending_exports(inbox, lake)
    result = ingest_exports(inbox, lake)

    assert tree(outside) == before, "something outside the inbox was read into, moved, created or deleted"
    assert list(bronze(lake, "youtube_studio_table")) == []
    assert len(bronze(lake, "youtube_studio_totals")) == 1
    reasons = {r["file"]: r["reason"] for r in result["rejected"]}
    assert set(reasons) == {"mallory", "adi/theirs", "adi/linked.csv"}
    assert all("symbolic link" in reason for reason in reasons.values())
    assert os.readlink(inbox / "_rejected" / "adi" / "linked.csv") == str(outside / "secret.csv")
    assert pending_exports(inbox, lake) == []


def test_an_ingested_folder_that_is_a_link_stops_the_ingest_before_anything_is_written_through_it(
        realdata, inbox, lake, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    drop(inbox, "adi/Table data.csv", (realdata / ADI_TABLE).read_bytes())
    (inbox / "adi" / "_ingested").symlink_to(outside, target_is_directory=True)

    with pytest.raises(UnsafeInbox, match="_ingested is a symbolic link"):
        ingest_exports(inbox, lake)

    assert tree(outside) == {}


# --- the input in the creator DAG --------------------------------------------------------------------------

def test_the_inbox_is_read_from_the_environment_and_by_default_lives_in_pulse_home(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_CREATOR_INBOX", str(tmp_path / "drop"))
    assert inbox_root() == (tmp_path / "drop").resolve()
    monkeypatch.delenv("PULSE_CREATOR_INBOX")
    monkeypatch.setenv("PULSE_HOME", str(tmp_path / "home"))
    assert inbox_root() == (tmp_path / "home" / "inbox" / "creator").resolve()


def test_the_creator_dag_skips_a_missing_inbox_at_once_and_its_sensor_finds_nothing_in_an_empty_one(
        monkeypatch, tmp_path):
    from pulse.sensors import InboxSensor
    from pulse.sources.creator import CREATOR

    monkeypatch.setenv("PULSE_HOME", str(tmp_path))
    monkeypatch.setenv("PULSE_LAKE_ROOT", str(tmp_path / "lake"))
    exports = CREATOR.input("exports")
    assert "does not exist" in exports.unavailable()  # the end-to-end runs: skipped before any wait

    (tmp_path / "inbox" / "creator").mkdir(parents=True)
    assert exports.unavailable() is None
    sensor = exports.sensor(task_id="wait_for_exports")
    assert isinstance(sensor, InboxSensor) and sensor.soft_fail and sensor.mode == "reschedule"
    assert sensor.poke({}) is False
    result = exports.ingest("creator", None)
    assert (result["files_ingested"], result["files_rejected"]) == (0, 0)
    assert not (tmp_path / "lake").exists()


def test_silver_reads_every_inbox_table_into_the_cross_platform_model_and_none_into_the_api_datasets():
    from spark_jobs.creator.schemas import EXPORT_BRONZE, SILVER_DATASETS

    assert sorted(t for tables in EXPORT_BRONZE.values() for t in tables) == sorted(DATASETS)
    assert set(DATASETS).isdisjoint(SILVER_DATASETS)


def test_the_real_exports_the_demo_drops_all_ingest(realdata, inbox, lake):
    from devstack.demo import fill_creator_inbox

    said: list[str] = []
    placed = fill_creator_inbox(realdata / "creator", inbox, say=said.append)
    result = ingest_exports(inbox, lake)

    assert (result["files_ingested"], result["files_rejected"]) == (len(placed), 0)
    assert sum(result["rows_by_format"].values()) == sum(len(records(p.read_bytes()))
                                                         for p in (inbox).rglob("_ingested/**/*.csv"))
    assert said == [f"dropped {len(placed)} real creator export files of 3 accounts into {inbox}"]
    # Layla's Table data takes its period from the Totals dropped beside it.
    (layla,) = [e for e in bronze(lake, "youtube_studio_table").values() if e["manifest"]["account"] == "Layla-Damoyi"]
    assert layla["manifest"]["period_start"] == "2026-04-07"
