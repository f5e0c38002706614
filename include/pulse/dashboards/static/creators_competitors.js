/* Creator analytics, page 3 (creators-competitors.html): our channels against competitors'.
 *
 * The rows are the reporting views over the cross-platform gold tables (docs/creator_metrics.md, "Channels
 * against competitors"), filtered by platform (its name: YouTube) and dates with creator_filters.js. Sums are
 * of the views' additive columns, ratios recomputed from their parts. Views of different definitions are
 * never added: when a selection holds several, each series is drawn per definition and says which. Without
 * channel rows (no YouTube crawl, no export) the page shows its notice and draws nothing. */
"use strict";

(() => {
  const raw = Pulse.data();
  const channels = Pulse.records(raw.channels);
  const days = Pulse.records(raw.channel_days);
  const weeks = Pulse.records(raw.channel_weeks);
  const videos = Pulse.records(raw.top_videos);
  const sources = Pulse.records(raw.sources || { columns: [], rows: [] });
  const { fmt, sum, ratio, groupBy } = Pulse;

  const ROLES = { ours: { label: "ours", color: "#f97316" }, competitor: { label: "competitors", color: Pulse.palette[0] } };
  const UNKNOWN_ROLE = { label: "role unknown", color: "#94a3b8" };
  const role = (row) => ROLES[row.role] || UNKNOWN_ROLE;
  const byDate = ([a], [b]) => (a < b ? -1 : 1);
  const PERCENTILES = [["subscribers_percentile", "subscribers"], ["subscriber_growth_percentile", "subscriber growth"],
    ["views_per_video_percentile", "views per video"], ["engagement_per_view_percentile", "engagement per view"],
    ["uploads_percentile", "uploads"]];

  /** The rows by series: their role, and their view definition too when the rows hold several. */
  const series = (rows) => {
    const split = new Set(rows.map((r) => r.view_definition)).size > 1;
    return groupBy(rows, (r) => (split ? `${role(r).label} (${r.view_definition})` : role(r).label));
  };

  /** Σ views gained ÷ the channel-days with a gain (null without one). */
  const gainPerChannelDay = (rows) => {
    const gaining = new Set(rows.filter((r) => r.gain_videos > 0).map((r) => `${r.channel_id}|${r.date}`));
    return ratio(sum(rows, "views_gained"), gaining.size);
  };
  const engagementPerView = (rows) => ratio(sum(rows, "engagement"), sum(rows, "engaged_views"));

  const drawCards = (state, dayRows) => {
    const listed = channels.filter((c) => !state.platform || c.platform_name === state.platform);
    const ours = listed.filter((c) => c.role === "ours");
    const exported = ours.filter((c) => c.source === "export");
    const rivals = listed.filter((c) => c.role === "competitor");
    Pulse.card("kpi-our-channels", fmt.int(ours.length),
      `${ours.length - exported.length} crawled · ${exported.length} export accounts (${fmt.int(sum(exported, "export_posts"))} posts)`);
    Pulse.card("kpi-competitor-channels", fmt.int(rivals.length),
      `in ${new Set(rivals.map((c) => c.niche)).size} niches`);
    const definitions = new Set(dayRows.map((r) => r.view_definition));
    const ourRows = dayRows.filter((r) => r.role === "ours");
    const rivalRows = dayRows.filter((r) => r.role === "competitor");
    if (definitions.size > 1) {  // a single figure would add views of different definitions
      const note = `${definitions.size} view definitions in the selection: see the charts`;
      Pulse.card("kpi-our-views-gained", "–", note);
      Pulse.card("kpi-our-engagement", "–", note);
      return;
    }
    const definition = definitions.size ? ` · ${[...definitions][0]}` : "";
    Pulse.card("kpi-our-views-gained", fmt.compact(gainPerChannelDay(ourRows)),
      `competitors ${fmt.compact(gainPerChannelDay(rivalRows))}${definition}`);
    Pulse.card("kpi-our-engagement", fmt.ratioPct(engagementPerView(ourRows)),
      `competitors ${fmt.ratioPct(engagementPerView(rivalRows))}`);
  };

  const drawSubscribers = (weekRows) => {
    const lines = [...groupBy(weekRows.filter((w) => w.subscribers != null), (w) => `${w.platform_name}|${w.channel_id}`)]
      .sort(([, a], [, b]) => (a[0].role === "ours" ? 0 : 1) - (b[0].role === "ours" ? 0 : 1));
    Pulse.plot("chart-subscribers", lines.map(([, rows]) => ({
      type: "scatter", mode: "lines+markers", name: `${rows[0].channel_title} (${role(rows[0]).label})`,
      legendgroup: role(rows[0]).label, x: rows.map((w) => w.period_start), y: rows.map((w) => w.subscribers),
      line: { color: role(rows[0]).color }, marker: { color: role(rows[0]).color },
      hovertemplate: `${rows[0].channel_title}<br>week of %{x}<br>%{y:,} subscribers<extra>${role(rows[0]).label}</extra>`,
    })), { yaxis: { title: { text: "subscribers" } }, legend: { orientation: "v", x: 1.02, y: 1 },
           margin: { l: 64, r: 8, t: 8, b: 36 } });
  };

  const drawPercentiles = (weekRows) => {
    const latest = weekRows.reduce((last, w) => (w.period_start > last ? w.period_start : last), "");
    const rows = weekRows.filter((w) => w.period_start === latest)
      .sort((a, b) => (a.role === "ours" ? 0 : 1) - (b.role === "ours" ? 0 : 1) || String(a.niche).localeCompare(String(b.niche))
        || a.channel_title.localeCompare(b.channel_title));
    const labels = rows.map((w) => `${w.channel_title}${w.role === "ours" ? " (ours)" : ""} · ${w.niche || "no niche"}`);
    Pulse.plot("chart-percentiles", rows.length ? [{
      type: "heatmap", x: PERCENTILES.map(([, name]) => name), y: labels, zmin: 0, zmax: 1, hoverongaps: false,
      z: rows.map((w) => PERCENTILES.map(([column]) => w[column])),
      customdata: rows.map((w) => PERCENTILES.map(() => [w.niche_channels, w.period_start])),
      colorscale: [[0, "#eef2ff"], [1, "#3730a3"]], colorbar: { tickformat: ".0%" },
      hovertemplate: "%{y}<br>%{x}: %{z:.0%} of %{customdata[0]} channels<br>week of %{customdata[1]}<extra></extra>",
    }] : [], { yaxis: { autorange: "reversed" }, margin: { l: 150, r: 8, t: 8, b: 60 } });
  };

  const drawDays = (dayRows) => {
    const lines = [...series(dayRows)];
    const trace = (name, rows, y) => {
      const points = [...groupBy(rows, (r) => r.date)].sort(byDate);
      return { type: "scatter", mode: "lines+markers", name, x: points.map(([d]) => d), y: points.map(([, g]) => y(g)),
               line: { color: role(rows[0]).color }, marker: { color: role(rows[0]).color }, connectgaps: false };
    };
    Pulse.plot("chart-views-gained", lines.map(([name, rows]) => ({
      ...trace(name, rows, gainPerChannelDay), hovertemplate: "%{x}<br>%{y:,.0f} views per channel<extra>%{fullData.name}</extra>",
    })), { yaxis: { title: { text: "views gained per channel" } } });
    Pulse.plot("chart-engagement", lines.map(([name, rows]) => ({
      ...trace(name, rows, engagementPerView), hovertemplate: "%{x}<br>%{y:.2%}<extra>%{fullData.name}</extra>",
    })), { yaxis: { tickformat: ".1%", title: { text: "engagement per view" } } });
  };

  const drawTopVideos = (state) => {
    const top = videos.filter((v) => !state.platform || v.platform_name === state.platform)
      .sort((a, b) => b.views - a.views || a.video_id.localeCompare(b.video_id)).slice(0, 10).reverse();
    Pulse.plot("chart-top-videos", top.length ? [{
      type: "bar", orientation: "h", x: top.map((v) => v.views), y: top.map((v) => `${v.title} · ${v.channel_title}`),
      marker: { color: top.map((v) => role(v).color) }, texttemplate: "%{x:,}", textposition: "outside", cliponaxis: false,
      customdata: top.map((v) => [role(v).label, v.engagement_per_view, v.view_definition, v.snapshot_date]),
      hovertemplate: "%{y} (%{customdata[0]})<br>%{x:,} views (%{customdata[2]}) on %{customdata[3]}"
        + "<br>engagement per view %{customdata[1]:.2%}<extra></extra>",
    }] : [], { xaxis: { title: { text: "lifetime views" } }, margin: { l: 220, r: 48, t: 8, b: 40 } });
  };

  const SOURCE_LABELS = { youtube_api: "YouTube crawl", export: "export" };
  const drawSources = (state) => {
    const rows = sources.filter((r) => !state.platform || r.platform === state.platform).reverse();
    Pulse.plot("chart-sources", rows.length ? [{
      type: "bar", orientation: "h", x: rows.map((r) => r.posts),
      y: rows.map((r) => `${r.platform} ${r.content_type} · ${SOURCE_LABELS[r.source] || r.source} · ${r.metric_definition}`),
      marker: { color: rows.map((r) => (r.source === "export" ? "#f97316" : Pulse.palette[0])) },
      texttemplate: "%{x:,}", textposition: "outside", cliponaxis: false,
      customdata: rows.map((r) => [r.accounts, r.views, r.engagement_rate_by_views == null ? "not known (a count is missing)"
        : fmt.ratioPct(r.engagement_rate_by_views)]),
      hovertemplate: "%{y}<br>%{x:,} posts of %{customdata[0]} accounts, %{customdata[1]:,} views"
        + "<br>engagement per view %{customdata[2]}<extra></extra>",
    }] : [], { xaxis: { title: { text: "posts and videos" } }, margin: { l: 360, r: 48, t: 8, b: 40 } });
  };

  const draw = (state, keep) => {
    const dayRows = days.filter((r) => keep(r, "date", "platform_name"));
    const weekRows = weeks.filter((w) => (!state.platform || w.platform_name === state.platform)
      && w.period_end >= state.from && w.period_start <= state.to);
    drawCards(state, dayRows);
    drawSubscribers(weekRows);
    drawPercentiles(weekRows);
    drawDays(dayRows);
    drawTopVideos(state);
    drawSources(state);
  };

  CreatorFilters.setup({
    dates: days.length ? days.map((r) => r.date) : Pulse.records(raw.trend).map((r) => r.date),
    platforms: CreatorFilters.platforms(raw),
    draw: channels.length ? draw : () => {},
  });
})();
