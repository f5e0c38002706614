"""The built-in dashboards in a real browser (headless Chromium), opened from disk with the network cut.

The pages are rendered once from a small real gold (``conftest.py``); each test opens them, fails on any
console error or failed request, and saves a screenshot to ``.pulse/screenshots/`` (``$PULSE_SCREENSHOTS`` to move it).
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest

pytestmark = pytest.mark.browser

PAGES = ("index.html", "creators.html", "creators-details.html", "creators-competitors.html", "spotify.html")

# Every chart of a page: drawn by Plotly, with at least one trace that has data.
CHARTS_STATE = """() => [...document.querySelectorAll('.chart')].map(el => ({
    id: el.id,
    plotly: el.classList.contains('js-plotly-plot'),
    traces: (el.data || []).length,
    points: (el.data || []).reduce((n, t) => n + ((t.x || t.values || t.z || t.y || []).length), 0),
    svg: el.querySelectorAll('svg.main-svg').length,
}))"""


class Page:
    """A browser tab on one dashboard page, collecting console errors and failed requests."""

    def __init__(self, page, folder, name: str, hash_: str = ""):
        self.page = page
        # Offline: anything but a file on disk is refused, so a CDN or an API call would show as an error.
        self.page.context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                                else route.abort())
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.goto((folder / name).as_uri() + hash_)
        self.page.wait_for_load_state("load")

    def drawn(self, state: str | None = None) -> str:
        """Wait until a creator page's charts have finished drawing (``body[data-drawn]``, set by
        creator_filters.js), for the filter ``state`` ("platform|from|to") when given; return the state."""
        self.page.wait_for_function(
            "(state) => state === null ? document.body.dataset.drawn !== undefined"
            " : document.body.dataset.drawn === state", arg=state)
        return self.page.evaluate("() => document.body.dataset.drawn")

    def choose(self, selector: str, value: str) -> str:
        """Set a filter input (``select_option`` or ``fill`` and its change event) and wait until the page has
        drawn the new selection; return it."""
        if selector == "#filter-platform":
            self.page.select_option(selector, value)
        else:
            self.page.fill(selector, value)
            self.page.dispatch_event(selector, "change")
        state = "|".join(self.page.input_value(f"#filter-{f}") for f in ("platform", "from", "to"))
        return self.drawn(state)

    def names(self, chart_id: str, key: str = "name") -> list:
        return self.page.evaluate("([id, key]) => document.getElementById(id).data.map((t) => t[key])",
                                  [chart_id, key])

    def charts(self) -> dict[str, dict]:
        return {c["id"]: c for c in self.page.evaluate(CHARTS_STATE)}

    def trace(self, chart_id: str, index: int = 0) -> dict:
        return self.page.evaluate(
            "([id, i]) => { const t = document.getElementById(id).data[i];"
            " return {x: t.x || null, y: t.y || null, values: t.values || null, z: t.z || null}; }",
            [chart_id, index])

    def text(self, selector: str) -> str:
        return self.page.locator(selector).inner_text()

    def shot(self, folder, name: str) -> None:
        self.page.evaluate("() => window.scrollTo({top: 0, behavior: 'instant'})")
        self.page.wait_for_timeout(300)  # let Plotly finish its transitions
        self.page.screenshot(path=str(folder / name), full_page=True)


@pytest.fixture
def open_page(browser, dashboards):
    with ExitStack() as opened:
        def _open(name: str, hash_: str = "") -> Page:
            return Page(opened.enter_context(browser.page(viewport={"width": 1440, "height": 1000})), dashboards,
                        name, hash_)

        yield _open


@pytest.mark.parametrize("name", PAGES)
def test_every_page_loads_offline_without_errors_and_every_chart_has_data(open_page, screenshots, name):
    page = open_page(name)
    if name.startswith("creators"):
        page.drawn()
    charts = page.charts()
    if name == "index.html":
        assert charts == {}
    else:
        assert charts, f"{name} has no charts"
        for chart_id, state in charts.items():
            assert state["plotly"] and state["svg"], f"{name}: {chart_id} was not drawn by Plotly"
            assert state["traces"] > 0 and state["points"] > 0, f"{name}: {chart_id} has no data: {state}"
        for card in page.page.locator(".card .value").all_inner_texts():
            assert card.strip() not in ("", "–"), f"{name}: an empty KPI card"
    page.shot(screenshots, name.replace(".html", ".png"))
    assert page.errors == []


def test_the_index_links_every_dashboard_and_shows_each_sources_last_publish(open_page):
    page = open_page("index.html")
    links = page.page.locator("a.dashboard-link")
    assert sorted(links.evaluate_all("els => els.map(a => a.getAttribute('href'))")) == [
        "creators-competitors.html", "creators-details.html", "creators.html", "spotify.html"]
    for source, dag_id in (("creator", "creator_analytics"), ("spotify", "spotify_analytics")):
        row = page.text(f"tr[data-source={source}]")
        assert dag_id in row and "bi-test" in row and "2026-11-20" in row and "ago" in row
    links.first.click()
    page.page.wait_for_load_state("load")
    assert page.page.url.endswith(".html") and page.charts()
    assert page.errors == []


def test_the_platform_filter_changes_the_figures_and_follows_to_the_second_page(open_page, screenshots):
    page = open_page("creators.html")
    reach_all = page.text("#kpi-reach .value")
    platforms_all = page.trace("chart-platforms")["x"]
    trend_all = page.trace("chart-trend", 1)["y"]
    assert len(platforms_all) > 1

    page.page.select_option("#filter-platform", "TikTok")
    assert page.text("#kpi-reach .value") != reach_all
    assert page.trace("chart-platforms")["x"] == ["TikTok"]
    assert page.trace("chart-trend", 1)["y"] != trend_all
    assert "platform=TikTok" in page.page.url
    page.shot(screenshots, "creators-tiktok.png")

    page.page.click("a.page-link:has-text('Deep dive')")
    page.page.wait_for_load_state("load")
    assert page.page.locator("#filter-platform").input_value() == "TikTok"
    assert page.trace("chart-heatmap")["x"] == ["TikTok"]
    page.shot(screenshots, "creators-details-tiktok.png")
    assert page.errors == []


def test_the_date_range_narrows_the_trend_and_reset_restores_it(open_page):
    page = open_page("creators.html")
    days_all = page.trace("chart-trend", 1)["x"]
    page.page.fill("#filter-from", days_all[-7])
    page.page.dispatch_event("#filter-from", "change")
    assert page.trace("chart-trend", 1)["x"] == days_all[-7:]
    assert "over 7 days" in page.text("#kpi-reach .sub")
    page.page.click("#filter-reset")
    assert page.trace("chart-trend", 1)["x"] == days_all
    assert page.errors == []


def test_the_competitors_page_draws_our_channels_against_competitors(open_page):
    page = open_page("creators-competitors.html")
    page.drawn()
    for chart_id in ("chart-views-gained", "chart-engagement"):
        assert sorted(page.names(chart_id)) == ["competitors", "ours"], chart_id
    assert set(page.names("chart-subscribers", "legendgroup")) == {"competitors", "ours"}
    assert len(page.names("chart-subscribers")) == 6  # one line per channel
    channels = page.trace("chart-percentiles")["y"]
    assert channels[0].startswith("Pulse") and "(ours)" in channels[0] and not any("(ours)" in c for c in channels[-4:])
    assert page.text("#kpi-our-channels .value") == "4"  # 2 crawled, 2 export accounts
    assert page.text("#kpi-competitor-channels .value") == "4"
    assert "competitors" in page.text("#kpi-our-engagement .sub")
    # the crawl's videos and the two exported posts of the BI lake, one bar per platform, type, source, definition
    bars = page.trace("chart-sources")["y"]
    assert "Instagram Post · export · instagram_views" in bars and "TikTok Video · export · tiktok_views" in bars
    assert any(b.startswith("YouTube ") and " · YouTube crawl · youtube_views_" in b for b in bars), bars
    assert page.errors == []


# The week the Competitors page's percentiles are of (each cell's hover data: niche size, week).
PERCENTILES_WEEK = "() => document.getElementById('chart-percentiles').data[0].customdata[0][0][1]"


def test_the_platform_filter_and_the_dates_change_the_competitors_figures_and_follow_to_the_overview(
        open_page, screenshots):
    page = open_page("creators-competitors.html")
    page.drawn()
    days_all = page.trace("chart-views-gained")["x"]
    top_all = page.trace("chart-top-videos")["y"]
    weeks_all = page.trace("chart-subscribers")["x"]
    week_of_percentiles = page.page.evaluate(PERCENTILES_WEEK)
    assert len(days_all) == 20 and len(top_all) == 10  # 21 days of the crawl but the one not crawled

    page.choose("#filter-platform", "TikTok")  # only an export account there: no crawl to draw
    assert page.text("#kpi-our-channels .value") == "1" and page.text("#kpi-competitor-channels .value") == "0"
    charts = page.charts()
    assert all(c["points"] == 0 for chart_id, c in charts.items() if chart_id != "chart-sources")
    assert page.trace("chart-sources")["y"] == ["TikTok Video · export · tiktok_views"]  # its exported post
    assert "platform=TikTok" in page.page.url

    page.choose("#filter-platform", "YouTube")
    assert page.text("#kpi-our-channels .value") == "2"
    assert page.trace("chart-views-gained")["x"] == days_all

    page.choose("#filter-to", days_all[4])  # the first five days: the first two weeks
    assert page.trace("chart-views-gained")["x"] == days_all[:5]
    assert page.trace("chart-engagement")["x"] == days_all[:5]
    assert page.trace("chart-subscribers")["x"] == weeks_all[:2]
    assert page.page.evaluate(PERCENTILES_WEEK) == weeks_all[1] < week_of_percentiles
    assert page.trace("chart-top-videos")["y"] == top_all  # lifetime views: not filtered by dates
    assert f"to={days_all[4]}" in page.page.url
    page.shot(screenshots, "creators-competitors-youtube.png")

    page.page.click("a.page-link:has-text('Overview')")
    page.page.wait_for_load_state("load")
    page.drawn()
    assert page.page.locator("#filter-platform").input_value() == "YouTube"
    assert page.page.locator("#filter-to").input_value() == days_all[4]
    assert page.errors == []


def test_without_a_youtube_crawl_or_exports_the_competitors_page_says_so_and_draws_nothing(
        browser, dashboards_without_channels):
    with browser.page(viewport={"width": 1440, "height": 1000}) as tab:
        page = Page(tab, dashboards_without_channels, "creators-competitors.html", "#platform=YouTube")
        page.drawn()
        assert page.page.locator("#competitors-empty").is_visible()
        assert "No YouTube crawl or creator exports were published" in page.text("#competitors-empty")
        assert page.charts() == {}
        page.page.click("a.page-link:has-text('Overview')")  # the filter still follows
        page.page.wait_for_load_state("load")
        page.drawn()
        assert page.page.locator("#filter-platform").input_value() == "YouTube"
        assert page.errors == []


def test_each_listener_sees_only_their_own_listening(open_page):
    page = open_page("spotify.html")
    page.page.select_option("#listener", "sam")
    assert sorted(page.trace("chart-top-minutes")["y"]) == ["Binge", "Late", "Skipper", "Steady"]
    assert page.text("#kpi-top .value") == "Steady"
    page.page.select_option("#listener", "ida")
    assert sorted(page.trace("chart-top-minutes")["y"]) == ["Edge", "The Band"]
    assert "listener=ida" in page.page.url
    assert page.errors == []


def test_the_artist_search_finds_an_artist_and_drills_down_to_albums_then_tracks(open_page, screenshots):
    page = open_page("spotify.html", "#listener=mia")
    page.page.fill("#artist-search", "brass")
    results = page.page.locator("#artist-results button")
    assert results.count() == 1 and results.first.inner_text().startswith("Brass Monkeys")
    results.first.click()

    drill = page.page.locator("#drill-list")
    assert drill.get_attribute("data-level") == "album"
    albums = drill.locator("li").all_inner_texts()
    assert albums and all(a.startswith("Brass ") for a in albums)
    assert page.trace("chart-drill")["y"][-1].startswith("Brass ")  # the biggest album on top
    assert "Brass Monkeys" in page.text("#drill-path")

    drill.locator("li button").first.click()
    assert drill.get_attribute("data-level") == "track"
    tracks = drill.locator("li").all_inner_texts()
    assert tracks and all("— track" in t for t in tracks)
    page.shot(screenshots, "spotify-drilldown.png")

    page.page.click("#drill-path button:has-text('All artists')")
    assert drill.get_attribute("data-level") == "artist"
    assert page.errors == []


def test_clicking_a_top_artist_bar_drills_into_that_artist(open_page):
    page = open_page("spotify.html", "#listener=mia")
    artist = page.trace("chart-top-minutes")["y"][0]  # the bar at the bottom: the 15th artist by minutes
    # A real mouse click at the bar: Plotly's drag layer above it receives it, as it would from a person.
    page.page.locator("#chart-top-minutes .point").first.click(force=True)
    page.page.wait_for_function("() => document.getElementById('drill-list').dataset.level === 'album'")
    assert artist in page.text("#drill-path")
    assert page.errors == []


# For one chart: the rectangles of its caption, Plotly's mode bar (present, even while hidden until hover),
# the chart's own titles (legend, axis titles) and plotting area, and what is on top at the caption's text.
OVERLAPS = """(id) => {
    const chart = document.getElementById(id);
    const caption = chart.closest('figure').querySelector('figcaption');
    caption.scrollIntoView({block: 'center'});
    const rect = (e) => e.getBoundingClientRect();
    const meets = (a, b) => a.width > 0 && b.width > 0 && a.left < b.right && b.left < a.right
        && a.top < b.bottom && b.top < a.bottom;
    const bar = chart.querySelector('.modebar');
    const titles = [caption, ...chart.querySelectorAll('.legend, .gtitle, .g-xtitle, .g-ytitle, .g-y2title')];
    const covered = titles.filter((t) => bar && meets(rect(bar), rect(t)))
        .map((t) => 'the mode bar covers ' + (t === caption ? 'the caption' : t.getAttribute('class')));
    // Cartesian charts: the mode bar sits in the top margin, above the plotting area, not over the data.
    const area = chart.querySelector('.draglayer .nsewdrag');
    if (bar && area && meets(rect(bar), rect(area))) covered.push('the mode bar covers the plotting area');
    const r = rect(caption);
    const onTop = document.elementFromPoint(r.left + Math.min(30, r.width / 2), r.top + r.height / 2);
    if (!caption.contains(onTop)) covered.push('the caption is under ' + onTop.tagName + ' ' + onTop.className);
    return {bar: !!bar, covered, says: (caption.querySelector('small') || {}).textContent || ''};
}"""
WHAT_A_TILE_SHOWS = ("selected above", "not filtered", "whole history", "follows the")


@pytest.mark.parametrize("name", [p for p in PAGES if p != "index.html"])
def test_no_element_covers_a_charts_title_and_every_tile_says_what_it_shows(open_page, name):
    page = open_page(name)
    for chart_id in page.charts():
        state = page.page.evaluate(OVERLAPS, chart_id)
        assert state["bar"], f"{name}: {chart_id} has no mode bar to check"
        assert state["covered"] == [], f"{name}: {chart_id}: {state['covered']}"
        if chart_id != "chart-drill":  # the drill-down's caption is its path (artist > album)
            assert any(words in state["says"] for words in WHAT_A_TILE_SHOWS), \
                f"{name}: {chart_id}'s caption does not say what period and filter it shows: {state['says']!r}"
    assert page.errors == []
