/* Pulse dashboards: what every page shares. The page's data are the JSON in #pulse-data, written by
 * pulse.dashboards.render from the warehouse's reporting views; tables arrive as {columns, rows}. */
"use strict";

const Pulse = (() => {
  const data = () => JSON.parse(document.getElementById("pulse-data").textContent);

  /** A {columns, rows} table as a list of objects. */
  const records = (table) =>
    table.rows.map((row) => Object.fromEntries(table.columns.map((name, i) => [name, row[i]])));

  const sum = (rows, key) => rows.reduce((total, row) => total + (Number(row[key]) || 0), 0);

  /** Rows grouped by key(row), in first-seen order: Map(key -> rows). */
  const groupBy = (rows, key) => {
    const groups = new Map();
    for (const row of rows) {
      const k = key(row);
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(row);
    }
    return groups;
  };

  /** numerator / denominator, or null when the denominator is 0 (the views' rule for ratios). */
  const ratio = (numerator, denominator) => (denominator ? numerator / denominator : null);

  const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
  const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  const fmt = {
    compact: (v) => (v == null ? "–" : compact.format(v)),
    int: (v) => (v == null ? "–" : whole.format(v)),
    money: (v) => (v == null ? "–" : money.format(v)),
    pct: (v, digits = 1) => (v == null ? "–" : `${v.toFixed(digits)}%`),
    ratioPct: (v, digits = 2) => (v == null ? "–" : `${(100 * v).toFixed(digits)}%`),
    num: (v, digits = 1) => (v == null ? "–" : v.toFixed(digits)),
  };

  /** Set a KPI card's value and subline. */
  const card = (id, value, sub = "") => {
    const el = document.getElementById(id);
    el.querySelector(".value").textContent = value;
    el.querySelector(".sub").textContent = sub;
  };

  const cssVar = (name) => getComputedStyle(document.body).getPropertyValue(name).trim();

  const palette = ["#4f46e5", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6"];

  let drawing = [];

  /** A promise that resolves when every chart drawn so far has finished drawing. */
  const drawn = () => {
    const pending = Promise.all(drawing);
    drawing = [];
    return pending;
  };

  /** Draw (or redraw) a Plotly chart with the page's theme. An empty selection shows a note. */
  const plot = (id, traces, layout = {}) => {
    const el = document.getElementById(id);
    const text = cssVar("--text");
    const line = cssVar("--line");
    const empty = !traces.length || traces.every((t) => !(t.x || t.values || t.z || t.y || []).length);
    const base = {
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: text, size: 12 },
      margin: { l: 48, r: 16, t: 30, b: 36 },
      colorway: document.body.classList.contains("dark")
        ? ["#1db954", "#a78bfa", "#f59e0b", "#38bdf8", "#f472b6", "#facc15"]
        : palette,
      xaxis: { gridcolor: line, zerolinecolor: line, automargin: true },
      yaxis: { gridcolor: line, zerolinecolor: line, automargin: true },
      legend: { orientation: "h", y: -0.18 },
      hoverlabel: { namelength: -1 },
      annotations: empty
        ? [{ text: "No data for this selection", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }]
        : [],
    };
    const merged = { ...base, ...layout };
    merged.margin = { ...base.margin, ...(layout.margin || {}) };
    merged.margin.t = Math.max(merged.margin.t, base.margin.t); // the mode bar's band
    for (const axis of ["xaxis", "yaxis", "yaxis2"]) {
      if (layout[axis]) merged[axis] = { ...(base[axis] || {}), gridcolor: line, zerolinecolor: line, ...layout[axis] };
    }
    // The mode bar (zoom, download) shows only while the pointer is on the chart, in the top margin
    // kept free for it, so it never covers a title, a legend or the data.
    const done = Plotly.react(el, traces, merged, { displaylogo: false, responsive: true, displayModeBar: "hover" });
    drawing.push(done);
    return done;
  };

  /** Replace every <time data-relative> with "3 hours ago"-style text (the ISO value stays in the title). */
  const relativeTimes = () => {
    const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
    const units = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
    for (const el of document.querySelectorAll("time[data-relative]")) {
      const iso = el.getAttribute("data-relative");
      const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
      if (Number.isNaN(seconds)) continue;
      const [unit, size] = units.find(([, s]) => Math.abs(seconds) >= s) || units[units.length - 1];
      el.title = iso;
      el.dateTime = iso;
      el.textContent = rtf.format(Math.round(seconds / size), unit);
    }
  };

  document.addEventListener("DOMContentLoaded", relativeTimes);
  if (document.readyState !== "loading") relativeTimes();

  return { data, records, sum, groupBy, ratio, fmt, card, plot, drawn, palette };
})();
