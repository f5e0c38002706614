"""Creator exports told by content and read into typed rows: the real files of shared/realdata, files
derived from them for each quirk (BOM and CRLF, localised numbers, dates without a year, ``undefined``,
the Total row, zips, xlsx), and files that are not exports, rejected with a reason.

Expected figures come from the csv module over the same bytes (or from the platforms' rules worked by
hand), never from the reader's own output."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pulse.creator_exports import (
    BadExport,
    ExportContext,
    ExportFormat,
    detect_export,
    export_members,
    open_member,
    read_export,
)
from pulse.creator_exports.definitions import (
    INSTAGRAM_IMPRESSIONS,
    INSTAGRAM_VIEWS,
    TIKTOK_VIEWS,
    YOUTUBE_VIEWS_MIXED,
    YOUTUBE_VIEWS_PLAYBACK_START,
    YOUTUBE_VIEWS_UNKNOWN,
    YOUTUBE_VIEWS_WATCH_GATED,
)

AS_OF = date(2026, 12, 4)
STUDIO = Path("creator/sources/youtube_studio_exports")
LAYLA = STUDIO / "Layla-Damoyi_youtube-engagement-dashboard"
ADI_TABLE = STUDIO / "buildwithadi_youtube-analyis-of-my-sister-youtube-channel" / "Table data.csv"
META = Path("creator/sources/instagram_graph_api/meta_business_suite_exports")
META_IG = META / "instagram_posts_export_sample_transcribed.csv"
META_FB = META / "facebook_posts_export_sample_transcribed.csv"
TIKTOK = Path("creator/sources/tiktok/tiktok_studio_exports/Content_sample_transcribed.csv")
IG_INSIGHTS = Path("creator/datasets/instagram_post_performance.csv")

REAL_FORMATS = {
    LAYLA / "Table data.csv": ExportFormat.YOUTUBE_STUDIO_TABLE,
    LAYLA / "Chart data.csv": ExportFormat.YOUTUBE_STUDIO_CHART,
    LAYLA / "Totals.csv": ExportFormat.YOUTUBE_STUDIO_TOTALS,
    ADI_TABLE: ExportFormat.YOUTUBE_STUDIO_TABLE,
    META_IG: ExportFormat.INSTAGRAM_META_BUSINESS_SUITE_POSTS,
    TIKTOK: ExportFormat.TIKTOK_STUDIO_CONTENT,
    IG_INSIGHTS: ExportFormat.INSTAGRAM_INSIGHTS_POSTS,
}


def detect(data: bytes):
    return detect_export(io.BytesIO(data))


def read(data: bytes, name: str = "export.csv", **context):
    """The facts and rows of an export given as bytes, its format told by detection."""
    f = io.BytesIO(data)
    detection = detect_export(f)
    assert detection.format is not None, detection.reason
    export = read_export(f, detection.format, ExportContext(name=name, as_of=context.pop("as_of", AS_OF), **context))
    return export.facts, list(export.rows)


def csv_dicts(data: bytes) -> list[dict[str, str]]:
    """The file's records as the csv module reads them (the independent computation)."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def csv_bytes(rows: list[list[str]], delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def whole(text: str) -> int | None:
    return int(text) if text.strip() else None


# --- the real files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("relative", sorted(REAL_FORMATS, key=str), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_export_is_detected_as_its_format_and_read_whole(realdata, relative):
    data = (realdata / relative).read_bytes()
    assert detect(data).format == REAL_FORMATS[relative]
    facts, rows = read(data, name=str(relative))
    records = csv_dicts(data)
    total_rows = sum(1 for r in records if next(iter(r.values())) == "Total")
    assert facts.rows == len(rows) == len(records) - total_rows
    assert facts.format == REAL_FORMATS[relative]
    assert all(row["format"] == REAL_FORMATS[relative].value for row in rows)


def test_the_instagram_insights_export_sums_equal_the_csv_modules(realdata):
    data = (realdata / IG_INSIGHTS).read_bytes()
    facts, rows = read(data)
    records = csv_dicts(data)
    assert len(rows) == len(records) == 176
    for column, key in [("Likes", "likes"), ("Comments", "comments"), ("Shares", "shares"), ("Saves", "saves"),
                        ("Impressions", "impressions"), ("Follows", "follows"), ("Profile Visits", "profile_visits"),
                        ("From Home", "impressions_from_home")]:
        assert sum(row[key] for row in rows) == sum(int(r[column]) for r in records), column
    assert [row["published"] for row in rows] == [date.fromisoformat(r["Date"]) for r in records]
    assert {row["metric_definition"] for row in rows} == {INSTAGRAM_IMPRESSIONS}
    # The export has no post id: the made key is still one per post.
    assert len({row["content_id"] for row in rows}) == 176
    # Hashtags are separated by no-break spaces in the file.
    assert rows[0]["hashtags"] == records[0]["Hashtags"].split("\u00a0")


def test_a_studio_table_leaves_its_total_row_out_of_the_rows_and_keeps_it_in_the_facts(realdata):
    data = (realdata / ADI_TABLE).read_bytes()
    facts, rows = read(data)
    records = csv_dicts(data)
    total, videos = records[0], records[1:]
    assert total["Content"] == "Total"
    assert [row["content_id"] for row in rows] == [r["Content"] for r in videos]
    for column, key in [("Views", "views"), ("Subscribers", "subscribers_net"), ("Impressions", "impressions"),
                        ("Duration", "duration_seconds")]:
        assert sum(row[key] for row in rows) == sum(int(r[column]) for r in videos), column
    assert facts.totals["views"] == int(total["Views"])
    assert facts.totals["watch_time_hours"] == float(total["Watch time (hours)"])
    assert facts.totals["subscribers_net"] == int(total["Subscribers"])
    assert min(row["subscribers_net"] for row in rows) == min(int(r["Subscribers"]) for r in videos) < 0
    assert sum(row["watch_time_hours"] for row in rows) == pytest.approx(
        sum(float(r["Watch time (hours)"]) for r in videos))


def test_quoted_titles_with_commas_and_emoji_are_read_whole(realdata):
    adi = (realdata / ADI_TABLE).read_bytes()
    _, rows = read(adi)
    by_id = {row["content_id"]: row for row in rows}
    title = next(r["Video title"] for r in csv_dicts(adi) if r["Content"] == "WUs4ZinP97E")
    assert "," in title and "✨" in title
    assert by_id["WUs4ZinP97E"]["title"] == title
    assert by_id["WUs4ZinP97E"]["published"] == date(2021, 3, 17)  # "Mar 17, 2021", quoted for its comma
    layla = (realdata / LAYLA / "Table data.csv").read_bytes()
    _, rows = read(layla)
    assert rows[0]["title"] == csv_dicts(layla)[1]["Video title"]
    assert "❤️" in rows[0]["title"]


def test_a_studio_video_id_starting_with_a_dash_loses_the_space_studio_writes_before_it(realdata):
    data = (realdata / ADI_TABLE).read_bytes().replace(b"\nh-SiGippEGw,", b"\n -SiGippEGw,")
    _, rows = read(data)
    assert rows[-1]["content_id"] == "-SiGippEGw"


def test_a_title_that_is_a_dash_stays_a_title(realdata):
    data = (realdata / ADI_TABLE).read_bytes().replace(b"HTML practice week", b"-")
    _, rows = read(data)
    assert next(r for r in rows if r["content_id"] == "yPYZkWJcA8A")["title"] == "-"


def test_empty_studio_cells_are_missing_values_not_zero(realdata):
    data = (realdata / LAYLA / "Table data.csv").read_bytes()
    _, rows = read(data)
    records = csv_dicts(data)[1:]
    assert [row["new_viewers"] for row in rows] == [whole(r["New viewers"]) for r in records]
    assert all(row["new_viewers"] is None for row in rows)
    assert rows[-1]["ctr_percent"] is None and records[-1]["Impressions click-through rate (%)"] == ""


def test_a_studio_table_takes_its_period_from_its_totals_and_its_shorts_count_views_at_playback_start(realdata):
    totals, days = read((realdata / LAYLA / "Totals.csv").read_bytes())
    dates = [date.fromisoformat(r["Date"]) for r in csv_dicts((realdata / LAYLA / "Totals.csv").read_bytes())]
    assert (totals.period_start, totals.period_end) == (min(dates), max(dates)) == (date(2026, 4, 7), date(2026, 5, 4))
    assert [row["date"] for row in days] == dates
    # A channel's daily total between the Shorts change (2025-03-31) and the 2026-08-24 change mixes both.
    assert {row["metric_definition"] for row in days} == {YOUTUBE_VIEWS_MIXED}
    table = (realdata / LAYLA / "Table data.csv").read_bytes()
    _, without_period = read(table)
    assert {row["metric_definition"] for row in without_period} == {YOUTUBE_VIEWS_UNKNOWN}
    facts, rows = read(table, period=(totals.period_start, totals.period_end))
    # Every video is 6-45 s long and published from Dec 2024: a Short, counted at playback start in April 2026.
    assert max(int(r["Duration"]) for r in csv_dicts(table)[1:]) <= 60
    assert {row["metric_definition"] for row in rows} == {YOUTUBE_VIEWS_PLAYBACK_START}
    assert (rows[0]["period_start"], rows[0]["period_end"]) == (date(2026, 4, 7), date(2026, 5, 4))


def test_a_header_only_chart_data_is_an_export_with_no_rows(realdata):
    facts, rows = read((realdata / LAYLA / "Chart data.csv").read_bytes())
    assert facts.format == ExportFormat.YOUTUBE_STUDIO_CHART and rows == [] and facts.rows == 0


def test_the_meta_business_suite_export_keeps_its_multiline_caption_and_its_account_out_of_the_rows(realdata):
    data = (realdata / META_IG).read_bytes()
    facts, rows = read(data)
    record = csv_dicts(data)[0]
    assert "\n" in record["Description"]
    (row,) = rows
    assert row["title"] == record["Description"].strip()
    assert (row["content_id"], row["views"], row["reach"], row["likes"]) == (
        record["Post ID"], int(record["Views"]), int(record["Reach"]), int(record["Likes"]))
    assert row["published"] == date(2026, 9, 24)  # "09/24/2026 15:30"
    assert row["metric_definition"] == INSTAGRAM_VIEWS and row["date"] is None  # Date "Lifetime"
    assert facts.account == record["Account username"]
    assert not any(key.startswith("account") for key in row)
    assert record["Account ID"] not in {str(v) for v in row.values()}


def test_a_meta_export_writing_the_day_first_is_read_by_its_convention(realdata):
    text = (realdata / META_IG).read_text(encoding="utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    second = list(records[1])
    second[0], second[6] = "18182686576415018", "03/10/2026 09:00"
    records[1][6] = "24/09/2026 15:30"
    _, rows = read(csv_bytes([records[0], records[1], second]))
    assert [r["published"] for r in rows] == [date(2026, 9, 24), date(2026, 10, 3)]
    records[1][6], second[6] = "24/09/2026 15:30", "09/24/2026 15:30"
    # The first row's caption spans lines 2 and 3: the second row starts on line 4.
    with pytest.raises(BadExport, match=r"dates are written two ways: line 2 puts the day first, line 4 the month"):
        read(csv_bytes([records[0], records[1], second]))


def test_an_older_meta_export_with_impressions_is_measured_as_impressions(realdata):
    data = (realdata / META_IG).read_bytes().replace(b",Views,", b",Impressions,", 1)
    _, (row,) = read(data)
    assert row["metric_definition"] == INSTAGRAM_IMPRESSIONS
    assert (row["impressions"], row["views"]) == (99, None)


def test_the_tiktok_content_row_gets_its_post_year_from_the_video_id_and_its_snapshot_day_from_the_download(realdata):
    data = (realdata / TIKTOK).read_bytes()
    record = csv_dicts(data)[0]
    assert (record["Post time"], record["Time"]) == ("10 января", "18 января")
    video_id = record["Video link"].rsplit("/", 1)[1]
    posted = datetime.fromtimestamp(int(video_id) >> 32, UTC).date()
    facts, (row,) = read(data)
    assert row["content_id"] == video_id
    assert row["published"] == posted == date(2026, 1, 10)
    assert row["date"] == date(2026, 1, 18)  # the latest 18 January on or before the download day
    assert (row["likes"], row["comments"], row["shares"], row["views"]) == tuple(
        int(record[c]) for c in ("Total likes", "Total comments", "Total shares", "Total views"))
    assert row["metric_definition"] == TIKTOK_VIEWS
    assert facts.account == "andrewaltair"


def test_a_post_time_that_disagrees_with_the_video_id_is_an_error_naming_the_line(realdata):
    data = (realdata / TIKTOK).read_bytes().replace("\"10 января\"".encode(), "\"10 марта\"".encode())
    with pytest.raises(BadExport, match=r"Content\.csv line 2: .*Post time '10 марта'.*2026-01-10"):
        read(data, name="acct/Content.csv")


# --- quirks on files derived from the real ones ----------------------------------------------------------

def test_a_byte_order_mark_and_crlf_line_ends_read_the_same_rows(realdata):
    data = (realdata / ADI_TABLE).read_bytes()
    assert b"\r\n" not in data and not data.startswith(b"\xef\xbb\xbf")
    windows = b"\xef\xbb\xbf" + data.replace(b"\n", b"\r\n")
    assert detect(windows).format == ExportFormat.YOUTUBE_STUDIO_TABLE
    plain, bom = read(data)[1], read(windows)[1]
    assert bom == plain
    # The real Instagram export has CRLF line ends already.
    assert b"\r\n" in (realdata / IG_INSIGHTS).read_bytes()


def test_utf16_with_a_sep_line_as_excel_writes_it_is_read(realdata):
    data = (realdata / ADI_TABLE).read_bytes()
    excel = "sep=,\r\n".encode("utf-16") + data.decode().replace("\n", "\r\n").encode("utf-16-le")
    plain, excel_rows = read(data)[1], read(excel)[1]
    assert [row["line"] for row in excel_rows] == [row["line"] + 1 for row in plain]  # the sep= line counts
    assert [{**row, "line": 0} for row in excel_rows] == [{**row, "line": 0} for row in plain]


def localised(value: str, column: str) -> str:
    """A number of the buildwithadi table as a German Studio writes it: 1.321,6783 and 58.005."""
    if column in ("Watch time (hours)", "Impressions click-through rate (%)"):
        whole_part, _, fraction = value.partition(".")
        return f"{int(whole_part):,}".replace(",", ".") + ("," + fraction if fraction else "")
    if column in ("Views", "Impressions"):
        return f"{int(value):,}".replace(",", ".")
    return value


def test_decimal_comma_numbers_are_read_by_the_files_convention(realdata):
    data = (realdata / ADI_TABLE).read_bytes()
    records = list(csv.reader(io.StringIO(data.decode(), newline="")))
    german = [records[0]] + [[localised(v, c) for v, c in zip(r, records[0], strict=True)] for r in records[1:]]
    text = csv_bytes(german, delimiter=";")
    assert b"1.321,6783" in text and b"58.005" in text and b"6,32" in text
    facts, rows = read(text)
    assert facts.number_convention == "1.234,5"
    videos = csv_dicts(data)[1:]
    assert [row["views"] for row in rows] == [int(r["Views"]) for r in videos]
    assert [row["watch_time_hours"] for row in rows] == [float(r["Watch time (hours)"]) for r in videos]
    assert [row["ctr_percent"] for row in rows] == [float(r["Impressions click-through rate (%)"]) for r in videos]
    assert facts.totals["watch_time_hours"] == 1384.3735


def test_thousands_separators_and_k_suffixes_in_an_english_file(realdata):
    records = list(csv.reader(io.StringIO((realdata / TIKTOK).read_text(encoding="utf-8"), newline="")))
    row = records[1]
    row[7] = "28,590"
    second = list(row)
    second[4], second[7] = "1.2K", "5,431"
    facts, rows = read(csv_bytes([records[0], row, second], quoting=csv.QUOTE_ALL))
    assert facts.number_convention == "1,234.5"
    assert [r["views"] for r in rows] == [28590, 5431]
    assert rows[1]["likes"] == 1200


@pytest.mark.parametrize(("views", "message"), [
    ("1,5", "'1,5' is not a whole number"), ("12,34,567", "'12,34,567' is not a number as this file writes them")])
def test_a_count_that_is_no_whole_number_in_the_files_convention_is_an_error(realdata, views, message):
    records = list(csv.reader(io.StringIO((realdata / TIKTOK).read_text(encoding="utf-8"), newline="")))
    records[1][7] = views
    with pytest.raises(BadExport, match=f"Content.csv line 2: Total views: {message}"):
        read(csv_bytes(records, quoting=csv.QUOTE_ALL), name="Content.csv")


def test_a_file_writing_numbers_two_ways_is_refused_naming_both_lines(realdata):
    data = (realdata / ADI_TABLE).read_bytes().decode()
    lines = data.split("\n")
    lines[3] = lines[3].replace("6.1052", '"6,1052"')
    with pytest.raises(BadExport, match=r"Table data\.csv: numbers are written two ways: line 2 .*line 4"):
        read("\n".join(lines).encode(), name="Table data.csv")


OVERVIEW_HEADER = ["Date", "Video Views", "Profile Views", "Likes", "Comments", "Shares"]


def test_tiktok_days_without_a_year_are_the_latest_such_days_up_to_the_download(realdata):
    rows = [OVERVIEW_HEADER, ["December 30", "120", "4", "9", "1", "0"],
            ["December 31", "80", "undefined", "7", "0", "1"], ["January 1", "1,204", "11", "30", "2", "3"],
            ["January 2", "95", "2", "5", "0", "0"]]
    facts, parsed = read(csv_bytes(rows, quoting=csv.QUOTE_ALL), as_of=date(2027, 1, 3))
    assert [r["date"] for r in parsed] == [date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]
    assert (facts.period_start, facts.period_end) == (date(2026, 12, 30), date(2027, 1, 2))
    assert [r["views"] for r in parsed] == [120, 80, 1204, 95]
    assert {r["metric_definition"] for r in parsed} == {TIKTOK_VIEWS}


def test_a_literal_undefined_is_a_missing_value(realdata):
    rows = [OVERVIEW_HEADER, ["August 31", "undefined", "undefined", "3", "undefined", "0"]]
    _, (row,) = read(csv_bytes(rows, quoting=csv.QUOTE_ALL), as_of=date(2026, 9, 2))
    assert (row["views"], row["profile_visits"], row["likes"], row["comments"]) == (None, None, 3, None)
    records = list(csv.reader(io.StringIO((realdata / TIKTOK).read_text(encoding="utf-8"), newline="")))
    records[1][5] = "undefined"
    _, (content,) = read(csv_bytes(records, quoting=csv.QUOTE_ALL))
    assert content["comments"] is None and content["likes"] == 529


@pytest.mark.parametrize(("text", "expected"), [
    ("31 de agosto", date(2026, 8, 31)), ("9月13日", date(2026, 9, 13)), ("18 tháng Tám", date(2026, 8, 18)),
    ("18 января", date(2026, 1, 18)), ("Aug 31", date(2026, 8, 31)), ("31. August", date(2026, 8, 31)),
    ("4 декабря", date(2026, 12, 4)), ("5 décembre", date(2025, 12, 5)),
])
def test_localised_days_without_a_year(text, expected):
    _, (row,) = read(csv_bytes([OVERVIEW_HEADER, [text, "1", "1", "1", "1", "1"]], quoting=csv.QUOTE_ALL))
    assert row["date"] == expected


# --- metric definitions ------------------------------------------------------------------------------

CHART_HEADER = ["Date", "Content", "Video title", "Video publish time", "Duration", "Views"]


def test_youtube_views_change_definition_on_the_shorts_and_the_all_formats_dates():
    rows = [CHART_HEADER,
            ["2025-03-30", "short1", "A short", "Jan 2, 2025", "30", "10"],
            ["2025-03-31", "short1", "A short", "Jan 2, 2025", "30", "12"],
            ["2025-03-31", "long1", "A long one", "Jan 2, 2025", "600", "5"],
            ["2026-08-23", "long1", "A long one", "Jan 2, 2025", "600", "4"],
            ["2026-08-24", "long1", "A long one", "Jan 2, 2025", "600", "6"],
            ["2025-06-01", "noduration", "Unknown", "Jan 2, 2025", "", "6"]]
    _, parsed = read(csv_bytes(rows))
    assert [r["metric_definition"] for r in parsed] == [
        YOUTUBE_VIEWS_WATCH_GATED, YOUTUBE_VIEWS_PLAYBACK_START, YOUTUBE_VIEWS_WATCH_GATED,
        YOUTUBE_VIEWS_WATCH_GATED, YOUTUBE_VIEWS_PLAYBACK_START, YOUTUBE_VIEWS_UNKNOWN]


def test_a_video_is_a_short_up_to_60_seconds_or_up_to_180_from_october_2024():
    rows = [CHART_HEADER,
            ["2025-06-01", "v1", "Published in 2024-11, 120 s", "Nov 1, 2024", "120", "1"],
            ["2025-06-01", "v2", "Published in 2024-09, 120 s", "Sep 1, 2024", "120", "1"],
            ["2025-06-01", "v3", "Published in 2024-09, 60 s", "Sep 1, 2024", "60", "1"],
            ["2025-06-01", "v4", "Published in 2024-11, 181 s", "Nov 1, 2024", "181", "1"]]
    _, parsed = read(csv_bytes(rows))
    assert [r["metric_definition"] for r in parsed] == [
        YOUTUBE_VIEWS_PLAYBACK_START, YOUTUBE_VIEWS_WATCH_GATED, YOUTUBE_VIEWS_PLAYBACK_START,
        YOUTUBE_VIEWS_WATCH_GATED]


def test_a_studio_period_across_a_change_date_is_mixed_and_comes_from_the_folder_name(realdata):
    data = (realdata / ADI_TABLE).read_bytes()
    facts, rows = read(data, name="acct/Content 2026-08-01_2026-08-31 Suuz Study/Table data.csv")
    assert (facts.period_start, facts.period_end, facts.account) == (date(2026, 8, 1), date(2026, 8, 31), "Suuz Study")
    # All long-form (over 180 s) but one: the period crosses 2026-08-24.
    assert {r["metric_definition"] for r in rows} == {YOUTUBE_VIEWS_MIXED}
    _, before = read(data, name="Content 2020-04-01_2021-06-30 Suuz Study.zip/Table data.csv")
    assert {r["metric_definition"] for r in before} == {YOUTUBE_VIEWS_WATCH_GATED}


# --- personal data and bad input -----------------------------------------------------------------------

def test_columns_no_format_lists_stay_out_of_the_rows(realdata):
    records = list(csv.reader(io.StringIO((realdata / META_IG).read_text(encoding="utf-8"), newline="")))
    records[0].append("Commenter username")
    records[1].append("some.viewer")
    facts, (row,) = read(csv_bytes(records))
    assert facts.ignored_columns == ("Commenter username",)
    assert "some.viewer" not in {str(v) for v in row.values()}


def test_a_cell_that_is_no_number_is_an_error_naming_the_file_and_line(realdata):
    lines = (realdata / ADI_TABLE).read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4].replace(",343,", ",lots,")
    with pytest.raises(BadExport, match=r"adi/Table data\.csv line 5: Views: 'lots' is not a number"):
        read("\n".join(lines).encode(), name="adi/Table data.csv")
    lines = (realdata / ADI_TABLE).read_text(encoding="utf-8").split("\n")
    lines[6] = lines[6] + ",1"
    with pytest.raises(BadExport, match=r"line 7: 10 cells where the header has 9"):
        read("\n".join(lines).encode(), name="adi/Table data.csv")


def test_a_file_read_as_another_format_is_refused(realdata):
    with pytest.raises(BadExport, match=r"Totals\.csv line 1: the header .* is not a TikTok Studio Content"):
        read_export(io.BytesIO((realdata / LAYLA / "Totals.csv").read_bytes()), ExportFormat.TIKTOK_STUDIO_CONTENT,
                    ExportContext(name="Totals.csv"))


def test_files_that_are_not_creator_exports_are_rejected_with_a_reason(realdata):
    spotify = next((realdata / "spotify" / "history").rglob("*.json")).read_bytes()
    cases = {
        "a Spotify export": (spotify, "JSON, not a CSV export"),
        "a random CSV": ((realdata / "creator/datasets/top_instagram_influencers.csv").read_bytes(),
                         "header ('rank', 'channel_info'"),
        "the trending dataset": ((realdata / "creator/datasets/youtube_trending_US_2017.csv").read_bytes()[:5000],
                                 "no creator export's"),
        "an empty file": (b"", "the file is empty"),
        "a binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
        "Latin-1 text": ("Fecha,Vídeo\n".encode("latin-1"), "not text in UTF-8"),
        "a Facebook Page export": ((realdata / META_FB).read_bytes(), "Facebook Page"),
        "a Studio table by date, not by video": (b"Date,Views,Watch time (hours)\nTotal,25,0.0615\n",
                                                 "header ('Date', 'Views', 'Watch time (hours)')"),
    }
    for what, (data, reason) in cases.items():
        detection = detect_export(data)  # bytes: the head is enough for these
        assert detection.format is None, what
        assert not detection.skip and not detection.archive, what
        assert reason in detection.reason, (what, detection.reason)


# --- zips and workbooks ---------------------------------------------------------------------------------

def test_a_studio_zip_is_read_member_by_member_streamed_with_its_period_from_its_name(realdata, tmp_path):
    folder = "Content 2026-04-07_2026-05-04 Layla Damoyi"
    archive = tmp_path / f"{folder}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ("Table data.csv", "Chart data.csv", "Totals.csv"):
            z.write(realdata / LAYLA / name, f"{folder}/{name}")
        z.writestr("__MACOSX/._Totals.csv", b"\x00\x05\x16\x07")
    with archive.open("rb") as f:
        detection = detect_export(f)
        assert detection.archive and detection.format is None
        members = export_members(f)
        assert members == [f"{folder}/Chart data.csv", f"{folder}/Table data.csv", f"{folder}/Totals.csv"]
        found = {}
        for member in members:
            with open_member(f, member) as opened:
                fmt = detect_export(opened).format
                export = read_export(opened, fmt, ExportContext(name=f"{archive.name}/{member}", as_of=AS_OF))
                found[fmt] = (export.facts, list(export.rows))
    table_facts, table_rows = found[ExportFormat.YOUTUBE_STUDIO_TABLE]
    assert (table_facts.period_start, table_facts.period_end) == (date(2026, 4, 7), date(2026, 5, 4))
    assert table_facts.account == "Layla Damoyi"
    assert len(table_rows) == len(csv_dicts((realdata / LAYLA / "Table data.csv").read_bytes())) - 1
    assert {r["metric_definition"] for r in table_rows} == {YOUTUBE_VIEWS_PLAYBACK_START}
    assert found[ExportFormat.YOUTUBE_STUDIO_TOTALS][0].rows == 28
    assert found[ExportFormat.YOUTUBE_STUDIO_CHART][0].rows == 0


def test_a_tiktok_zip_reads_content_and_skips_its_audience_files(realdata, tmp_path):
    archive = tmp_path / "tiktok.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(realdata / TIKTOK, "Content.csv")
        z.writestr("FollowerGender.csv", '"Gender","Distribution"\n"Female","0.59"\n"Male","0.41"\n')
        z.writestr("notes.txt", "my export\n")
    outcomes = {}
    with archive.open("rb") as f:
        for member in export_members(f):
            with open_member(f, member) as opened:
                outcomes[member] = detect_export(opened)
    assert outcomes["Content.csv"].format == ExportFormat.TIKTOK_STUDIO_CONTENT
    assert outcomes["FollowerGender.csv"].format is None and outcomes["FollowerGender.csv"].skip
    assert outcomes["notes.txt"].format is None and not outcomes["notes.txt"].skip


def test_an_unreadable_zip_is_refused(tmp_path):
    broken = b"PK\x03\x04" + b"\x00" * 40
    detection = detect(broken)
    assert detection.archive
    with pytest.raises(zipfile.BadZipFile):
        export_members(io.BytesIO(broken))


def test_a_tiktok_xlsx_workbook_reads_as_its_csv_does(realdata, tmp_path):
    openpyxl = pytest.importorskip("openpyxl", reason="openpyxl (requirements.txt) is not installed: make install")
    records = list(csv.reader(io.StringIO((realdata / TIKTOK).read_text(encoding="utf-8"), newline="")))
    book = openpyxl.Workbook()
    overview = book.active
    overview.title = "Overview"
    overview.append(OVERVIEW_HEADER)
    overview.append(["January 18", 30000, "undefined", 600, 170, 122])
    content = book.create_sheet("Content")
    content.append(records[0])
    content.append(records[1][:4] + [int(v) for v in records[1][4:]])
    path = tmp_path / "tiktok.xlsx"
    book.save(path)
    with path.open("rb") as f:
        detection = detect_export(f)
        assert detection.format == ExportFormat.TIKTOK_STUDIO_OVERVIEW and detection.sheet == "Overview"
        export = read_export(f, ExportFormat.TIKTOK_STUDIO_CONTENT, ExportContext(name="tiktok.xlsx", as_of=AS_OF))
        (row,) = list(export.rows)
        days = list(read_export(f, ExportFormat.TIKTOK_STUDIO_OVERVIEW, ExportContext(as_of=AS_OF)).rows)
    _, (from_csv,) = read((realdata / TIKTOK).read_bytes())
    assert {k: v for k, v in row.items() if k != "line"} == {k: v for k, v in from_csv.items() if k != "line"}
    assert row["line"] == 2
    assert [(d["date"], d["views"], d["profile_visits"]) for d in days] == [(date(2026, 1, 18), 30000, None)]
