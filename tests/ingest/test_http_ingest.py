"""The ingest client: paging, retries that honour Retry-After, loud failures that keep old bronze."""

import datetime as dt

import pytest
import requests
from deltalake import DeltaTable

from pulse.http_ingest import IngestError, RetryPolicy, ingest_endpoint, parse_retry_after
from pulse.lake import bronze_partition_path, read_bronze, read_manifest
from tests.ingest.scripted_server import scripted_server

RUN_DATE = dt.date(2026, 11, 21)
FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=2, timeout=5)


def page(records, next_path=None):
    return {"data": records, "links": {"next": next_path}}


def three_pages(path, n, full):
    number = int(full.split("page=")[1]) if "page=" in full else 1
    records = [{"id": f"{number}-{i}", "n": i} for i in range(2)]
    nxt = f"/api/things?page={number + 1}" if number < 3 else None
    return 200, {}, page(records, nxt)


def run(base_url, tmp_path, policy=FAST):
    return ingest_endpoint(session=requests.Session(), base_url=base_url, api_name="test_api", source="test",
                           endpoint="things", path="api/things", params={"start_date": "2026-11-21"},
                           run_date=RUN_DATE, lake_root=str(tmp_path), policy=policy)


def test_every_page_is_followed_and_each_record_lands_in_bronze_with_its_metadata(tmp_path):
    with scripted_server(three_pages) as (url, _):
        result = run(url, tmp_path)
    assert (result.pages, result.records) == (3, 6)
    part = bronze_partition_path(tmp_path, "test", "things", RUN_DATE)
    table = sorted(read_bronze(part).to_pylist(), key=lambda r: r["record_index"])
    assert [r["payload"] for r in table[:2]] == ['{"id":"1-0","n":0}', '{"id":"1-1","n":1}']
    assert [r["record_index"] for r in table] == list(range(6))
    assert [r["page"] for r in table] == [1, 1, 2, 2, 3, 3]
    assert table[0]["request_url"].endswith("/api/things?start_date=2026-11-21")
    assert table[2]["request_url"].endswith("/api/things?page=2")
    assert {r["source"] for r in table} == {"test"} and {r["endpoint"] for r in table} == {"things"}
    assert read_manifest(part)["records"] == 6


def test_rerunning_a_date_replaces_its_partition_instead_of_appending(tmp_path):
    with scripted_server(three_pages) as (url, _):
        run(url, tmp_path)
        run(url, tmp_path)
    part = bronze_partition_path(tmp_path, "test", "things", RUN_DATE)
    assert read_bronze(part).num_rows == 6
    assert sorted(p.name for p in part.parent.iterdir()) == ["_delta_log", part.name]
    # One Delta commit per run; the first run's rows are still readable as version 0 (time travel).
    table = DeltaTable(str(part.parent))
    assert table.version() == 1 and DeltaTable(str(part.parent), version=0).to_pyarrow_table().num_rows == 6


def test_502_and_a_truncated_page_are_retried_until_the_page_arrives(tmp_path):
    def flaky(path, n, full):
        if n == 0:
            return 502, {}, {"error": {"status": 502, "message": "Bad Gateway"}}
        if n == 1:
            return 200, {}, b'{"data": [{"id": 1'
        return 200, {}, page([{"id": 1}])

    with scripted_server(flaky) as (url, log):
        result = run(url, tmp_path)
    assert result.records == 1
    assert [s for _, _, s in log] == [502, 200, 200]
    assert result.answers == {"502": 1, "200": 2, "invalid_json": 1}


def test_429_waits_as_long_as_retry_after_says(tmp_path):
    def limited(path, n, full):
        if n == 0:
            return 429, {"Retry-After": "1"}, {"error": {"status": 429, "message": "API rate limit exceeded"}}
        return 200, {}, page([{"id": 1}])

    with scripted_server(limited) as (url, log):
        run(url, tmp_path, RetryPolicy(attempts=3, initial_wait=0.01, max_wait=5, timeout=5))
    assert log[1][0] - log[0][0] >= 0.95


def test_a_client_error_is_not_retried_and_names_the_api_and_url(tmp_path):
    with scripted_server(lambda p, n, f: (404, {}, {"error": {"status": 404, "message": "Resource not found"}})) as (
        url, log):
        with pytest.raises(IngestError, match=r"test_api at http://127\.0\.0\.1:\d+ on .*/api/things.* answered 404"):
            run(url, tmp_path)
    assert len(log) == 1


def test_a_page_that_keeps_failing_fails_loudly_and_leaves_the_old_partition(tmp_path):
    with scripted_server(three_pages) as (url, _):
        run(url, tmp_path)

    def page_two_broken(path, n, full):
        if "page=2" in full:
            return 502, {}, {"error": {"status": 502, "message": "Bad Gateway"}}
        return three_pages(path, n, full)

    with scripted_server(page_two_broken) as (url, log):
        with pytest.raises(IngestError, match=r"on .*page=2 \(page 2\) answered 502 after 4 tries"):
            run(url, tmp_path)
    assert sum("page=2" in p for _, p, _ in log) == 4
    part = bronze_partition_path(tmp_path, "test", "things", RUN_DATE)
    assert read_bronze(part).num_rows == 6
    assert DeltaTable(str(part.parent)).version() == 0, "the failed run committed nothing"
    committed = {p.rsplit("/", 1)[-1] for p in DeltaTable(str(part.parent)).file_uris()}
    assert {p.name for p in part.glob("*.parquet")} == committed, "no half-written file is left behind"


def test_an_api_that_is_down_fails_with_its_address(tmp_path):
    with pytest.raises(IngestError, match=r"http://127\.0\.0\.1:9 .* could not be reached"):
        run("http://127.0.0.1:9", tmp_path, RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.1, timeout=1))


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_pages_decode_and_payloads_encode_like_the_standard_library_even_where_msgspec_gives_up():
    import json

    from pulse.http_ingest import decode_json
    from pulse.lake import record_json

    record = {"name": "Zoë \u2028 \"quoted\"", "likes": 12, "rate": 0.30000000000000004, "tags": ["a", None],
              "nested": {"ok": True}}
    assert json.loads(record_json(record)) == record
    assert record_json(record) == json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    huge = b'{"id": 123456789012345678901234567890, "x": 1e400}'  # beyond msgspec's ranges: json reads it
    assert decode_json(huge) == json.loads(huge)
    with pytest.raises(ValueError):
        decode_json(b"<html>502 Bad Gateway</html>")


# --- where paging may go, and what an unreadable answer is ------------------------------------------

def test_a_links_next_to_another_port_fails_naming_both_hosts_and_that_host_gets_no_request(tmp_path):
    with scripted_server(lambda p, n, f: (200, {}, page([{"id": "elsewhere"}]))) as (other_url, other_log):
        def first_page_points_away(path, n, full):
            return 200, {}, page([{"id": 1}], f"{other_url}/api/things?page=2")

        with scripted_server(first_page_points_away) as (url, log):
            session = requests.Session()
            session.headers["Authorization"] = "Bearer the-connection-secret"  # as HttpHook sets from extras
            with pytest.raises(IngestError) as failed:
                ingest_endpoint(session=session, base_url=url, api_name="test_api", source="test",
                                endpoint="things", path="api/things", params={}, run_date=RUN_DATE,
                                lake_root=str(tmp_path), policy=FAST)
    message = str(failed.value)
    assert f"links.next points at {other_url}, not at the connection's {url}" in message
    assert "not followed" in message and "secret" not in message
    assert other_log == [], "the other host received a request"
    assert len(log) == 1
    assert not bronze_partition_path(tmp_path, "test", "things", RUN_DATE).exists()


def test_an_absolute_links_next_on_the_connection_host_is_followed(tmp_path):
    def absolute_links(path, n, full):
        number = int(full.split("page=")[1]) if "page=" in full else 1
        nxt = f"http://127.0.0.1:{port}/api/things?page=2" if number == 1 else None
        return 200, {}, page([{"id": number}], nxt)

    with scripted_server(absolute_links) as (url, log):
        port = int(url.rsplit(":", 1)[1])
        assert run(url, tmp_path).pages == 2
    assert len(log) == 2


def test_a_200_html_page_says_what_it_is_and_is_not_retried(tmp_path):
    html = b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body>" + b"x" * 5000 + b"TAIL"
    with scripted_server(lambda p, n, f: (200, {"Content-Type": "text/html; charset=utf-8"}, html)) as (url, log):
        with pytest.raises(IngestError) as failed:
            run(url, tmp_path)
    message = str(failed.value)
    assert (f"answered 200 with a body that is not JSON (text/html; charset=utf-8, {len(html):,} bytes, "
            "starting ") in message
    assert "'<!DOCTYPE html>\\n<html><head><title>Welcome to nginx!</title></head><body>xxxxxxx'…" in message
    assert message.endswith("this looks like an HTML page: is the connection's host the API?")
    assert "TAIL" not in message and len(log) == 1


def test_a_truncated_page_that_never_heals_says_its_content_type_and_first_bytes(tmp_path):
    cut = b'{"data": [{"id": 1, "name": "\x1b[31mred'
    with scripted_server(lambda p, n, f: (200, {"Content-Type": "application/json"}, cut)) as (url, log):
        with pytest.raises(IngestError) as failed:
            run(url, tmp_path)
    assert (f"not JSON (a truncated page?): application/json, {len(cut)} bytes, "
            """starting '{"data": [{"id": 1, "name": "\\x1b[31mred' after 4 tries""") in str(failed.value)
    assert len(log) == FAST.attempts


def test_a_run_stops_once_its_retry_budget_is_spent_and_says_so(tmp_path):
    def every_page_needs_four_tries(path, n, full):
        if n % 4 != 3:
            return 502, {}, {"error": {"status": 502, "message": "Bad Gateway"}}
        number = n // 4 + 1
        return 200, {}, page([{"id": number}], f"/api/things?page={number + 1}" if number < 30 else None)

    stingy = RetryPolicy(attempts=4, initial_wait=0.001, max_wait=0.01, timeout=5, budget=0.5)
    with scripted_server(every_page_needs_four_tries) as (url, log):
        with pytest.raises(IngestError) as failed:
            run(url, tmp_path, stingy)
    # 20 retries, plus 0.5 per page received: the 8th page's 3 retries reach 24, the 9th page's first 502 ends it
    assert str(failed.value).endswith(
        "(page 9) answered 502 after 1 tries: this run's retry budget is spent (24 retries for 8 pages received; "
        "it allows 20 plus 0.5 per page: PULSE_HTTP_RETRY_BUDGET)")
    assert len(log) == 8 * 4 + 1
    assert not bronze_partition_path(tmp_path, "test", "things", RUN_DATE).exists()


def test_a_single_request_without_a_run_budget_is_retried_up_to_its_tries():
    from pulse.http_ingest import get_json_page

    def twice_502(path, n, full):
        return (502, {}, {"error": {"status": 502}}) if n < 2 else (200, {}, page([{"id": 1}]))

    with scripted_server(twice_502) as (url, log):
        body = get_json_page(requests.Session(), f"{url}/api/things", None, FAST, "test_api", lambda b: True)
    assert body == page([{"id": 1}]) and [s for _, _, s in log] == [502, 502, 200]


def test_a_redirect_to_another_port_fails_naming_both_hosts_and_that_host_gets_no_request(tmp_path):
    with scripted_server(lambda p, n, f: (200, {}, page([{"id": "elsewhere"}]))) as (other_url, other_log):
        def moved(path, n, full):
            return 302, {"Location": f"{other_url}/api/things"}, {"error": {"status": 302}}

        with scripted_server(moved) as (url, log):
            session = requests.Session()
            session.headers["X-Api-Key"] = "the-connection-secret"  # an auth header from the connection's extras
            with pytest.raises(IngestError, match=f"302 redirect points at {other_url}, not at the connection's {url}"):
                ingest_endpoint(session=session, base_url=url, api_name="test_api", source="test",
                                endpoint="things", path="api/things", params={}, run_date=RUN_DATE,
                                lake_root=str(tmp_path), policy=FAST)
    assert other_log == [], "the other host received a request"
    assert len(log) == 1
