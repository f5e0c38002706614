/* The creator pages' filters: platform and date range, in the filter form of creators_filters.html.
 *
 * The state lives in the URL hash (platform, from, to; absent means every platform, the page's first date,
 * its last date), and the links marked data-keep-filters carry it, so it follows you from one creator page
 * to the next. Each page gives the dates and platforms of its own rows and a draw function; when the charts
 * draw(state) drew have finished, <body data-drawn> holds the state they show ("platform|from|to"). */
"use strict";

const CreatorFilters = (() => {
  const el = (id) => document.getElementById(id);

  /** Wire the form: fill its choices, read the hash, draw, and redraw on every change. draw(state, keep) gets
   * the selection ({platform, from, to}) and keep(row, dateKey = "date", platformKey = "platform"), whether a
   * row is in it. */
  const setup = ({ dates, platforms, draw }) => {
    const sorted = [...new Set(dates)].sort();
    const firstDate = sorted[0] || "";
    const lastDate = sorted[sorted.length - 1] || "";
    const choices = [...new Set(platforms)].sort();

    const platformSelect = el("filter-platform");
    const fromInput = el("filter-from");
    const toInput = el("filter-to");
    for (const p of choices) platformSelect.add(new Option(p, p));
    for (const input of [fromInput, toInput]) {
      input.min = firstDate;
      input.max = lastDate;
    }

    const readHash = () => {
      const h = new URLSearchParams(location.hash.slice(1));
      return {
        platform: choices.includes(h.get("platform")) ? h.get("platform") : "",
        from: h.get("from") || firstDate,
        to: h.get("to") || lastDate,
      };
    };
    let state = readHash();

    const keep = (row, dateKey = "date", platformKey = "platform") =>
      (!state.platform || row[platformKey] === state.platform) && row[dateKey] >= state.from && row[dateKey] <= state.to;

    const writeHash = () => {
      const h = new URLSearchParams();
      if (state.platform) h.set("platform", state.platform);
      if (state.from !== firstDate) h.set("from", state.from);
      if (state.to !== lastDate) h.set("to", state.to);
      const hash = h.toString();
      history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
      for (const a of document.querySelectorAll("a[data-keep-filters]")) {
        a.href = a.getAttribute("href").split("#")[0] + (hash ? `#${hash}` : "");
      }
    };

    const redraw = () => {
      el("filter-summary").textContent = `${state.platform || "all platforms"} · ${state.from} → ${state.to}`;
      const key = `${state.platform}|${state.from}|${state.to}`;
      delete document.body.dataset.drawn;
      draw(state, keep);
      Pulse.drawn().then(() => {
        if (key === `${state.platform}|${state.from}|${state.to}`) document.body.dataset.drawn = key;
      });
    };

    const show = () => {
      platformSelect.value = state.platform;
      fromInput.value = state.from;
      toInput.value = state.to;
    };

    const apply = () => {
      state = { platform: platformSelect.value, from: fromInput.value || firstDate, to: toInput.value || lastDate };
      if (state.from > state.to) [state.from, state.to] = [state.to, state.from];
      writeHash();
      redraw();
    };

    platformSelect.addEventListener("change", apply);
    fromInput.addEventListener("change", apply);
    toInput.addEventListener("change", apply);
    el("filter-reset").addEventListener("click", () => {
      state = { platform: "", from: firstDate, to: lastDate };
      show();
      writeHash();
      redraw();
    });
    window.addEventListener("hashchange", () => {
      state = readHash();
      show();
      redraw();
    });

    show();
    writeHash();
    redraw();
  };

  /** The platforms every creator page offers, so a choice made on one page holds on the others: those of the
   * engagement trend and those of the channels (by name: YouTube, not the cross-platform code youtube). */
  const platforms = (raw) => [...raw.trend.rows.map((row) => row[raw.trend.columns.indexOf("platform")]),
                              ...raw.channels.rows.map((row) => row[raw.channels.columns.indexOf("platform_name")])];

  return { setup, platforms };
})();
