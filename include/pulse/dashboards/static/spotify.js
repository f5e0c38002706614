/* Spotify command center (spotify.html): one listener at a time — listeners never mix.
 *
 * Every chart reads the embedded rows of the reporting views for the chosen listener only. The artist
 * search lists the listener's artists (reporting.spotify_artists); the drill-down goes artist -> album
 * -> track over reporting.spotify_tracks, summing ms_played (minutes = ms / 60,000, as the views do).
 * The listener, and the artist and album drilled into, live in the URL hash. */
"use strict";

(() => {
  const raw = Pulse.data();
  const T = Object.fromEntries(Object.entries(raw).map(([name, table]) => [name, Pulse.records(table)]));
  const { fmt, sum, groupBy } = Pulse;
  const el = (id) => document.getElementById(id);
  const NO_ALBUM = "__no_album__";
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

  const listeners = T.kpis.map((k) => k.listener);
  const mine = (name) => T[name].filter((r) => r.listener === state.listener);

  const select = el("listener");
  for (const l of listeners) select.add(new Option(l, l));

  const readHash = () => {
    const h = new URLSearchParams(location.hash.slice(1));
    const listener = listeners.includes(h.get("listener")) ? h.get("listener") : listeners[0];
    return { listener, artist: h.get("artist") || null, album: h.get("album") || null };
  };
  let state = readHash();

  const writeHash = () => {
    const h = new URLSearchParams({ listener: state.listener });
    if (state.artist) h.set("artist", state.artist);
    if (state.album) h.set("album", state.album);
    history.replaceState(null, "", `#${h}`);
  };

  const artistsByKey = () => new Map(mine("artists").map((a) => [a.artist_key, a]));

  // --- headline cards and charts ------------------------------------------------------------------

  const drawListener = () => {
    const k = T.kpis.find((r) => r.listener === state.listener);
    Pulse.card("kpi-loyalty", k.mean_loyalty == null ? "–" : fmt.num(k.mean_loyalty, 1),
      `mean over ${fmt.int(k.streamed_artists)} streamed artists`);
    Pulse.card("kpi-minutes", fmt.int(k.listening_minutes),
      `${fmt.int(k.music_minutes)} music · ${fmt.int(k.podcast_minutes)} podcasts`);
    Pulse.card("kpi-streams", fmt.int(k.streams), `${fmt.int(k.plays)} plays · ${fmt.ratioPct(k.skip_rate, 1)} skipped`);
    Pulse.card("kpi-artists", fmt.int(k.distinct_artists), `${fmt.int(k.distinct_tracks)} tracks`);
    Pulse.card("kpi-top", k.top_artist || "–",
      k.top_artist ? `${fmt.int(k.top_artist_minutes)} min · loyalty ${fmt.num(k.top_artist_loyalty, 1)}` : "");
    el("filter-summary").textContent = `${k.first_date} → ${k.last_date} · ${fmt.int(k.active_days)} active days`;

    const trend = mine("trend");
    const months = trend.map((r) => r.month);
    Pulse.plot("chart-trend", [
      { type: "bar", name: "music", x: months, y: trend.map((r) => r.music_minutes) },
      { type: "bar", name: "podcasts", x: months, y: trend.map((r) => r.podcast_minutes) },
      { type: "bar", name: "other", x: months, y: trend.map((r) => r.other_minutes) },
      { type: "scatter", mode: "lines+markers", name: "streams", x: months, y: trend.map((r) => r.streams), yaxis: "y2" },
    ], { barmode: "stack", xaxis: { type: "category" }, yaxis: { title: { text: "minutes" } },
         yaxis2: { overlaying: "y", side: "right", showgrid: false, title: { text: "streams" } },
         margin: { l: 56, r: 56, t: 8, b: 36 } });

    const loyal = mine("loyalty").slice(0, 10).reverse();
    Pulse.plot("chart-loyalty", [{
      type: "bar", orientation: "h", y: loyal.map((r) => r.artist_name), x: loyal.map((r) => r.loyalty_score),
      customdata: loyal.map((r) => [r.stream_weeks, r.window_weeks]),
      hovertemplate: "%{y}: %{x:.1f}<br>streamed %{customdata[0]} of %{customdata[1]} weeks<extra></extra>",
    }], { xaxis: { range: [0, 100], title: { text: "loyalty score" } }, margin: { l: 120, r: 16, t: 8, b: 40 } });

    const byMinutes = mine("top_by_minutes").slice(0, 15).reverse();
    Pulse.plot("chart-top-minutes", [{
      type: "bar", orientation: "h", y: byMinutes.map((r) => r.artist_name), x: byMinutes.map((r) => r.listening_minutes),
      customdata: byMinutes.map((r) => [r.pct_of_music_minutes, r.streams]),
      hovertemplate: "%{y}: %{x:,.0f} min (%{customdata[0]}% of music)<br>%{customdata[1]} streams<extra></extra>",
    }], { xaxis: { title: { text: "minutes" } }, margin: { l: 120, r: 16, t: 8, b: 40 } });

    const byTracks = mine("top_by_tracks").slice(0, 15).reverse();
    Pulse.plot("chart-top-tracks", [{
      type: "bar", orientation: "h", y: byTracks.map((r) => r.artist_name), x: byTracks.map((r) => r.distinct_tracks),
      marker: { color: "#38bdf8" },
      customdata: byTracks.map((r) => [r.distinct_albums, r.listening_minutes]),
      hovertemplate: "%{y}: %{x} tracks, %{customdata[0]} albums<br>%{customdata[1]:,.0f} min<extra></extra>",
    }], { xaxis: { title: { text: "distinct tracks" } }, margin: { l: 120, r: 16, t: 8, b: 40 } });

    const cells = mine("weekly");
    const grid = DAYS.map((_, d) => Array.from({ length: 24 }, (_, h) => {
      const c = cells.find((r) => r.day_of_week_number === d + 1 && r.hour === h);
      return c ? c.listening_minutes : 0;
    }));
    Pulse.plot("chart-pulse", cells.length ? [{
      type: "heatmap", x: Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, "0")}h`), y: DAYS, z: grid,
      colorscale: [[0, "#181b22"], [0.05, "#12321f"], [1, "#1db954"]],
      hovertemplate: "%{y} %{x}: %{z:,.0f} min<extra></extra>", colorbar: { title: { text: "min" } },
    }] : [], { yaxis: { autorange: "reversed" }, margin: { l: 40, r: 8, t: 8, b: 36 } });
  };

  // --- drill-down: artist -> album -> track --------------------------------------------------------

  const drillLevel = () => {
    const tracks = mine("tracks");
    const artists = artistsByKey();
    if (!state.artist || !artists.has(state.artist)) {
      const top = mine("artists").slice(0, 15);
      return { title: "Top artists", items: top.map((a) => ({ key: a.artist_key, label: a.artist_name,
        minutes: a.listening_minutes, note: `${a.distinct_tracks} tracks` })), next: "artist" };
    }
    const artist = artists.get(state.artist);
    const ofArtist = tracks.filter((t) => t.artist_key === state.artist);
    const albums = [...groupBy(ofArtist, (t) => t.album_key || NO_ALBUM)].map(([key, rows]) => ({
      key, label: key === NO_ALBUM ? "(no album)" : rows[0].album_name, minutes: sum(rows, "ms_played") / 60000,
      note: `${rows.length} tracks`,
    })).sort((a, b) => b.minutes - a.minutes);
    if (!state.album || !albums.some((a) => a.key === state.album)) {
      return { title: artist.artist_name, artist, items: albums, next: "album" };
    }
    const album = albums.find((a) => a.key === state.album);
    const songs = ofArtist.filter((t) => (t.album_key || NO_ALBUM) === state.album)
      .map((t) => ({ key: t.track_key, label: t.track_name, minutes: t.ms_played / 60000,
        note: `${t.plays} plays · ${t.streams} streams` }))
      .sort((a, b) => b.minutes - a.minutes);
    return { title: album.label, artist, album, items: songs, next: null };
  };

  const crumb = (label, onClick, current) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    if (current) b.setAttribute("aria-current", "step");
    b.addEventListener("click", onClick);
    return b;
  };

  const drill = (changes) => {
    Object.assign(state, changes);
    writeHash();
    drawDrill();
  };

  const drawDrill = () => {
    const level = drillLevel();
    const path = el("drill-path");
    path.replaceChildren(crumb("All artists", () => drill({ artist: null, album: null }), !level.artist));
    if (level.artist) {
      path.append(crumb(level.artist.artist_name, () => drill({ album: null }), !level.album));
    }
    if (level.album) path.append(crumb(level.album.label, () => {}, true));

    const open = (item) => {
      if (level.next === "artist") drill({ artist: item.key, album: null });
      else if (level.next === "album") drill({ album: item.key });
    };
    const list = el("drill-list");
    list.replaceChildren(...level.items.map((item) => {
      const li = document.createElement("li");
      li.dataset.key = item.key;
      if (level.next) {
        li.append(crumb(item.label, () => open(item)));
      } else {
        li.append(document.createTextNode(item.label));
      }
      const note = document.createElement("span");
      note.className = "figure";
      note.textContent = `${fmt.num(item.minutes, 1)} min · ${item.note}`;
      li.append(note);
      return li;
    }));
    list.dataset.level = level.next || "track";

    const shown = level.items.slice(0, 20).reverse();
    const chart = el("chart-drill");
    Pulse.plot("chart-drill", [{
      type: "bar", orientation: "h", y: shown.map((i) => i.label), x: shown.map((i) => i.minutes),
      customdata: shown.map((i) => i.key), hovertemplate: "%{y}: %{x:,.1f} min<extra></extra>",
    }], { xaxis: { title: { text: `minutes · ${level.title}` } }, margin: { l: 160, r: 16, t: 8, b: 40 } }).then(() => {
      chart.removeAllListeners?.("plotly_click");
      chart.on("plotly_click", (event) => {
        const key = event.points[0].customdata;
        const item = level.items.find((i) => i.key === key);
        if (item) open(item);
      });
    });
  };

  // --- artist search --------------------------------------------------------------------------------

  const search = el("artist-search");
  const results = el("artist-results");
  const showMatches = () => {
    const query = search.value.trim().toLowerCase();
    const matches = query ? mine("artists").filter((a) => a.artist_name.toLowerCase().includes(query)).slice(0, 12) : [];
    results.replaceChildren(...matches.map((a) => {
      const li = document.createElement("li");
      li.append(crumb(`${a.artist_name} · ${fmt.int(a.listening_minutes)} min`, () => pick(a)));
      return li;
    }));
    return matches;
  };
  const pick = (artist) => {
    search.value = artist.artist_name;
    results.replaceChildren();
    drill({ artist: artist.artist_key, album: null });
    el("drill").scrollIntoView({ behavior: "smooth", block: "nearest" });
  };
  search.addEventListener("input", showMatches);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const [first] = showMatches();
      if (first) pick(first);
    }
  });

  const selectArtistByName = (name) => {
    const artist = mine("artists").find((a) => a.artist_name === name);
    if (artist) pick(artist);
  };

  const draw = () => {
    select.value = state.listener;
    drawListener();
    drawDrill();
    for (const id of ["chart-top-minutes", "chart-top-tracks", "chart-loyalty"]) {
      const chart = el(id);
      chart.removeAllListeners?.("plotly_click");
      chart.on("plotly_click", (event) => selectArtistByName(event.points[0].y));
    }
  };

  select.addEventListener("change", () => {
    state = { listener: select.value, artist: null, album: null };
    search.value = "";
    results.replaceChildren();
    writeHash();
    draw();
  });
  window.addEventListener("hashchange", () => {
    state = readHash();
    draw();
  });

  writeHash();
  draw();
})();
