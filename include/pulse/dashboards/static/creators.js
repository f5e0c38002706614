/* Creator analytics, pages 1 (creators.html) and 2 (creators-details.html).
 *
 * Filters (platform, date range; creator_filters.js) work on the embedded rows of the reporting views at
 * date x platform grain; sums are sums of the views' additive columns and every ratio is recomputed from its
 * parts with the formula of reporting.creator_kpis (docs/creator_metrics.md). Charts whose view has no date
 * or platform say so. */
"use strict";

(() => {
  const raw = Pulse.data();
  const trend = Pulse.records(raw.trend);
  const bands = Pulse.records(raw.bands);
  const content = Pulse.records(raw.content);
  const tiers = Pulse.records(raw.tiers);
  const competitors = Pulse.records(raw.competitors);
  const niche = Pulse.records(raw.niche);
  const { fmt, sum, ratio, groupBy } = Pulse;

  const platforms = [...new Set(trend.map((r) => r.platform))].sort();  // of these pages' rows
  const el = (id) => document.getElementById(id);

  // --- page 1 ------------------------------------------------------------------------------------

  const drawOverview = (rows) => {
    const reach = sum(rows, "reach");
    const likes = sum(rows, "total_likes");
    const revenue = sum(rows, "content_revenue");
    const posts = sum(rows, "posts_published");
    const monetized = sum(rows, "monetized_posts");
    const score = sum(rows, "engagement_score");
    const impressions = sum(rows, "impressions");
    const monetizedPct = posts ? (100 * monetized) / posts : null;
    const days = new Set(rows.map((r) => r.date)).size;
    Pulse.card("kpi-reach", fmt.compact(reach), `${fmt.int(reach)} over ${days} days`);
    Pulse.card("kpi-likes", fmt.compact(likes), `${fmt.int(likes)} likes`);
    Pulse.card("kpi-revenue", fmt.money(revenue), `from ${fmt.int(posts)} posts`);
    Pulse.card("kpi-monetized", fmt.pct(monetizedPct), `${fmt.int(monetized)} of ${fmt.int(posts)} posts`);
    Pulse.card("kpi-engagement", fmt.ratioPct(ratio(score, impressions)), `${fmt.compact(score)} engagements`);

    const byDate = [...groupBy(rows, (r) => r.date)].sort(([a], [b]) => (a < b ? -1 : 1));
    const x = byDate.map(([d]) => d);
    Pulse.plot("chart-trend", [
      { type: "bar", name: "engagement (likes + comments + shares)", x, y: byDate.map(([, g]) => sum(g, "engagement_score")),
        yaxis: "y2", opacity: 0.35 },
      { type: "scatter", mode: "lines+markers", name: "engagement rate", x,
        y: byDate.map(([, g]) => ratio(sum(g, "engagement_score"), sum(g, "impressions"))),
        hovertemplate: "%{x}<br>%{y:.2%}<extra>engagement rate</extra>" },
    ], {
      yaxis: { tickformat: ".1%", title: { text: "engagement rate" } },
      yaxis2: { overlaying: "y", side: "right", showgrid: false, title: { text: "engagement" } },
      margin: { l: 56, r: 56, t: 8, b: 36 },
    });

    Pulse.plot("chart-monetized", posts ? [{
      type: "pie", hole: 0.6, sort: false, labels: ["monetized", "not monetized"],
      values: [monetized, posts - monetized], textinfo: "percent",
      marker: { colors: [Pulse.palette[0], "#cbd5e1"] },
    }] : [], { annotations: posts ? [{ text: fmt.pct(monetizedPct), showarrow: false, font: { size: 22 } }] : undefined,
               margin: { l: 8, r: 8, t: 8, b: 8 } });

    const byPlatform = [...groupBy(rows, (r) => r.platform)].sort(([a], [b]) => (a < b ? -1 : 1));
    Pulse.plot("chart-platforms", [
      { type: "bar", name: "reach", offsetgroup: "reach", x: byPlatform.map(([p]) => p),
        y: byPlatform.map(([, g]) => sum(g, "reach")) },
      { type: "bar", name: "revenue ($)", offsetgroup: "revenue", x: byPlatform.map(([p]) => p),
        y: byPlatform.map(([, g]) => sum(g, "content_revenue")), yaxis: "y2" },
    ], { barmode: "group", yaxis: { title: { text: "reach" } },
         yaxis2: { overlaying: "y", side: "right", showgrid: false, title: { text: "revenue ($)" } },
         margin: { l: 56, r: 64, t: 8, b: 36 } });

    Pulse.plot("chart-revenue", [{
      type: "scatter", mode: "lines", fill: "tozeroy", name: "revenue", x,
      y: byDate.map(([, g]) => sum(g, "content_revenue")), hovertemplate: "%{x}<br>$%{y:,.2f}<extra></extra>",
    }], { yaxis: { tickprefix: "$" } });
  };

  // --- page 2 ------------------------------------------------------------------------------------

  // The reach bands by their stable code (gold's; the label is reporting's): light to hot.
  const bandColor = (code, alpha) => {
    const rgb = { moderate: "147,197,253", trending: "99,102,241", viral: "249,115,22" }[code] || "148,163,184";
    return `rgba(${rgb},${alpha})`;
  };

  const drawDetails = (state, keep) => {
    const bandRows = bands.filter((r) => keep(r));
    const codeOf = new Map(bandRows.map((r) => [r.performance_band, r.band_code]));
    const bandTotals = [...groupBy(bandRows, (r) => r.performance_band)]
      .sort(([, a], [, b]) => a[0].band_order - b[0].band_order);
    const ids = [];
    const labels = [];
    const parents = [];
    const values = [];
    for (const [band, rows] of bandTotals) {
      ids.push(band);
      labels.push(band);
      parents.push("");
      values.push(sum(rows, "creator_days"));
      for (const [platform, prow] of groupBy(rows, (r) => r.platform)) {
        ids.push(`${band}/${platform}`);
        labels.push(platform);
        parents.push(band);
        values.push(sum(prow, "creator_days"));
      }
    }
    Pulse.plot("chart-bands", values.length ? [{
      type: "treemap", ids, labels, parents, values, branchvalues: "total",
      texttemplate: "%{label}<br>%{value:,} days<br>%{percentRoot:.0%}",
      hovertemplate: "%{label}<br>%{value:,} creator-days (%{percentRoot:.1%})<extra></extra>",
      marker: { colors: ids.map((id) => bandColor(codeOf.get(id.split("/")[0]), id.includes("/") ? 0.7 : 1)) },
    }] : [], { margin: { l: 4, r: 4, t: 4, b: 4 } });

    Pulse.plot("chart-tiers", [
      { type: "bar", name: "active in the window", x: tiers.map((t) => t.subscription_tier), y: tiers.map((t) => t.active_creators) },
      { type: "bar", name: "no activity", x: tiers.map((t) => t.subscription_tier),
        y: tiers.map((t) => t.creators - t.active_creators), marker: { color: "#cbd5e1" } },
    ], { barmode: "stack", yaxis: { title: { text: "creators" } } });

    const contentRows = content.filter((r) => keep(r));
    const types = [...new Set(content.map((r) => r.content_type))].sort();
    const columns = state.platform ? [state.platform] : platforms;
    const cells = groupBy(contentRows, (r) => `${r.content_type}|${r.platform}`);
    const cell = (t, p, f) => f(cells.get(`${t}|${p}`) || []);
    Pulse.plot("chart-heatmap", contentRows.length ? [{
      type: "heatmap", x: columns, y: types, colorscale: [[0, "#eef2ff"], [1, "#3730a3"]], hoverongaps: false,
      z: types.map((t) => columns.map((p) => cell(t, p, (g) => ratio(sum(g, "engagement_score"), sum(g, "impressions"))))),
      customdata: types.map((t) => columns.map((p) => cell(t, p, (g) => [sum(g, "posts"), sum(g, "revenue")]))),
      hovertemplate: "%{y} on %{x}<br>engagement rate %{z:.2%}<br>%{customdata[0]:,} posts · $%{customdata[1]:,.2f}<extra></extra>",
      colorbar: { tickformat: ".0%" },
    }] : [], { margin: { l: 90, r: 8, t: 8, b: 36 } });

    const sorted = [...competitors].sort((a, b) => a.commission_percentage - b.commission_percentage);
    Pulse.plot("chart-competitors", [{
      type: "bar", orientation: "h", x: sorted.map((c) => c.commission_percentage),
      y: sorted.map((c) => (c.is_our_platform ? `${c.platform_name} (us)` : c.platform_name)),
      marker: { color: sorted.map((c) => (c.is_our_platform ? "#f97316" : Pulse.palette[0])) },
      texttemplate: "%{x}%", textposition: "outside", cliponaxis: false,
      customdata: sorted.map((c) => [c.commission_percentage_rank, c.market_share_percentage]),
      hovertemplate: "%{y}: %{x}% commission (rank %{customdata[0]})<br>market share %{customdata[1]}%<extra></extra>",
    }], { xaxis: { title: { text: "commission %" } }, margin: { l: 130, r: 32, t: 8, b: 40 } });

    const nicheRows = niche.filter((r) => !state.platform || r.platform === state.platform);
    const tierOrder = tiers.map((t) => t.subscription_tier);
    const byTier = [...groupBy(nicheRows, (r) => r.subscription_tier)]
      .sort(([a], [b]) => tierOrder.indexOf(a) - tierOrder.indexOf(b));
    const traces = byTier.map(([tier, rows]) => ({
      type: "scatter", mode: "markers", name: tier,
      x: rows.map((r) => r.creator_segment), offsetgroup: tier,
      y: rows.map((r) => r.engagement_rate_p50),
      error_y: { type: "data", symmetric: false, array: rows.map((r) => r.engagement_rate_p75 - r.engagement_rate_p50),
                 arrayminus: rows.map((r) => r.engagement_rate_p50 - r.engagement_rate_p25) },
      customdata: rows.map((r) => [r.creators, r.platform]),
      hovertemplate: "%{x} (%{customdata[1]})<br>median %{y:.2%} · %{customdata[0]} creators<extra>" + tier + "</extra>",
      marker: { size: 9 },
    }));
    Pulse.plot("chart-niche", traces, { scattermode: "group", legend: { orientation: "h", y: 1.12 },
      yaxis: { tickformat: ".1%", title: { text: "engagement rate (median)" } }, margin: { l: 56, r: 16, t: 24, b: 48 } });
  };

  CreatorFilters.setup({
    dates: trend.map((r) => r.date),
    platforms: CreatorFilters.platforms(raw),
    draw: (state, keep) => {
      if (el("chart-trend")) drawOverview(trend.filter((r) => keep(r)));
      if (el("chart-bands")) drawDetails(state, keep);
    },
  });
})();
