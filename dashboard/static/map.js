// Command map (issue 6): Leaflet from the npm registry (served under /vendor/), live over /ws.
// Loaded after common.js ($, api, signIn, live).
// Gauges come from /api/command/markers, aggregated on the server (grid clusters when zoomed out), and are drawn on
// one canvas; a "gauge" frame recolours a visible marker at once and schedules a debounced re-fetch of the view.
"use strict";

const COLOURS = ["#8b98a5", "#3b8cff", "#ffd60a", "#ff8c1a", "#ff2d3a"];
const NAMES = ["none", "blue", "yellow", "orange", "red"];  // the colours' ids; people read level.N (蓝色预警...)
const levelName = (n) => (n ? t(`level.${n}`) : t("colour.0"));
const MARKER_DEBOUNCE_MS = 250;
const STATE_DEBOUNCE_MS = 800;
const S = {
  map: null, renderer: null, gauges: new Map(), gaugeLayer: null, clusterLayer: null, areaShapes: new Map(),
  villageLayer: null, teamLayer: null, state: null, markerTimer: null, stateTimer: null, busy: false, dirty: false,
  stats: { refreshMs: 0, fetchMs: 0, drawMs: 0, refreshes: 0, markers: 0, clusters: 0, total: 0, frames: 0 },
};
window.mapStats = S.stats;
window.gaugeLevel = (id) => (S.gauges.has(id) ? S.gauges.get(id).options.level : null);
window.refreshMarkersNow = () => refreshMarkers();

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function start(me) {
  S.commander = ["commander", "admin"].includes(me && me.role);  // issue 14: declares events, marks them stable
  const state = await api("GET", "/api/command/state");
  await initMap(state);
  renderState(state);
  await refreshMarkers();
  live(onFrame);
}

async function initMap(state) {
  if (S.map) return;
  S.renderer = L.canvas({ padding: 0.3 });
  S.map = L.map("map", { preferCanvas: true, renderer: S.renderer });
  if (state.tile_url) L.tileLayer(state.tile_url, { maxZoom: 19, attribution: "local tiles" }).addTo(S.map);
  const geo = await api("GET", "/api/command/geojson");
  L.geoJSON(geo, { filter: (f) => !state.tile_url || ["area", "boundary"].includes(f.properties.layer), style: geoStyle,
                   pointToLayer: villagePoint, onEachFeature: keepArea }).addTo(S.map);
  S.clusterLayer = L.layerGroup().addTo(S.map);
  S.gaugeLayer = L.layerGroup().addTo(S.map);
  S.teamLayer = L.layerGroup().addTo(S.map);
  const pts = geo.features.filter((f) => f.properties.layer === "boundary");
  if (pts.length) document.title = t("map.title", { county: pts[0].properties.name });  // the real county's name
  if (pts.length) S.map.fitBounds(L.geoJSON(pts[0]).getBounds());
  else S.map.setView([28.2, 112.9], 11);
  S.map.on("moveend", scheduleMarkers);
}

function geoStyle(f) {
  const layer = f.properties.layer;
  if (layer === "river") return { color: "#2aa3ff", weight: 6, opacity: 0.8 };
  if (layer === "boundary") return { color: "#6e7b88", weight: 2, dashArray: "8 6", fill: false };
  return { color: COLOURS[0], weight: 2, fillColor: COLOURS[0], fillOpacity: 0.08 };
}

function villagePoint(f, latlng) {
  return L.circleMarker(latlng, { radius: 4, color: "#e6edf3", renderer: S.renderer })
    .bindTooltip(esc(f.properties.name), { permanent: true, direction: "right", className: "village-label notranslate" });
}

function keepArea(f, layer) { if (f.properties.layer === "area") S.areaShapes.set(f.properties.id, layer); }

function scheduleMarkers() {
  if (S.markerTimer) return;
  S.markerTimer = setTimeout(() => { S.markerTimer = null; refreshMarkers(); }, MARKER_DEBOUNCE_MS);
}

async function refreshMarkers() {
  if (S.busy) { S.dirty = true; return; }
  S.busy = true;
  try {
    const t0 = performance.now();
    const q = `bbox=${S.map.getBounds().toBBoxString()}&zoom=${S.map.getZoom()}`;
    const data = await api("GET", `/api/command/markers?${q}`);
    const t1 = performance.now();
    drawMarkers(data);
    await new Promise((ok) => requestAnimationFrame(() => ok()));  // count the paint in the update time
    const t2 = performance.now();
    const byLevel = [0, 0, 0, 0, 0];
    for (const c of data.clusters) c.levels.forEach((n, i) => { byLevel[i] += n; });
    for (const m of data.markers) byLevel[m.level] += 1;
    Object.assign(S.stats, { fetchMs: t1 - t0, drawMs: t2 - t1, refreshMs: t2 - t0, markers: data.markers.length,
                             clusters: data.clusters.length, total: data.total, byLevel, refreshedAt: Date.now() });
    S.stats.refreshes += 1;
    $("stats").textContent = t("map.stats", { total: data.total, markers: data.markers.length,
      clusters: data.clusters.length, ms: S.stats.refreshMs.toFixed(0) });
  } finally {
    S.busy = false;
    if (S.dirty) { S.dirty = false; scheduleMarkers(); }
  }
}

function drawMarkers(data) {
  const seen = new Set();
  for (const m of data.markers) {
    seen.add(m.id);
    const old = S.gauges.get(m.id);
    if (old) { if (old.options.level !== m.level) setLevel(old, m.level); continue; }
    const mk = L.circleMarker([m.lat, m.lon], { renderer: S.renderer, radius: 7, weight: 2, color: "#000",
      fillColor: COLOURS[m.level], fillOpacity: 0.95, level: m.level, gaugeId: m.id });
    mk.bindPopup(() => gaugePopup(m.id, m.kind, m.village, mk.options.level));
    S.gaugeLayer.addLayer(mk);
    S.gauges.set(m.id, mk);
  }
  for (const [id, mk] of S.gauges) if (!seen.has(id)) { S.gaugeLayer.removeLayer(mk); S.gauges.delete(id); }
  S.clusterLayer.clearLayers();
  for (const c of data.clusters) {
    const size = Math.round(22 + 7 * Math.log10(c.count));
    const icon = L.divIcon({ className: "", iconSize: [size, size],
      html: `<div class="cluster" style="width:${size}px;height:${size}px;background:${COLOURS[c.level]}">${c.count}</div>` });
    const title = c.levels.map((n, i) => (n ? `${n} ${levelName(i)}` : "")).filter(Boolean).join(", ");
    L.marker([c.lat, c.lon], { icon, title, keyboard: false }).on("click", () => S.map.setView([c.lat, c.lon],
      Math.min(S.map.getZoom() + 2, 18))).addTo(S.clusterLayer);
  }
}

function setLevel(mk, level) { mk.options.level = level; mk.setStyle({ fillColor: COLOURS[level] }); }

function gaugePopup(id, kind, village, level) {
  const g = (S.state?.gauges || []).find((x) => x.id === id);
  const rows = g ? Object.entries(g.metrics).map(([k, v]) => `<tr><td>${esc(word("metric.", k))}</td><td>${v}</td></tr>`).join("") : "";
  return `<b translate="no">${esc(id)}</b> ${esc(word("device.", kind))} · <span translate="no">${esc(village)}</span><br>` +
    `${esc(t("map.level"))} <b>${esc(levelName(level))}</b><table>${rows}</table>`;
}

function scheduleState() {
  if (S.stateTimer) return;
  S.stateTimer = setTimeout(async () => { S.stateTimer = null; renderState(await api("GET", "/api/command/state")); },
    STATE_DEBOUNCE_MS);
}

function renderState(state) {
  S.state = state;
  const byLevel = [...state.areas].sort((a, b) => b.level - a.level);
  const names = new Map(state.villages.map((v) => [v.id, v.name]));
  const areaName = (id) => `<span translate="no">${esc(names.get(id) || id)}</span>`;
  const th = (...keys) => `<tr>${keys.map((k) => `<th>${esc(t(k))}</th>`).join("")}</tr>`;
  // Warnings a commander approved (CAP in force) first; then the areas whose gauges are past a threshold but whose
  // warning still waits for approval on /command, marked so at 3 a.m. nobody reads them as issued.
  const issued = state.cap.filter((c) => c.msg_type !== "Cancel").sort((a, b) => b.level - a.level);
  const issuedAreas = new Set(issued.map((c) => c.area));
  const pending = byLevel.filter((a) => !issuedAreas.has(a.area));
  const badge = (level) => `<span class="badge" style="background:${COLOURS[level]}">${esc(levelName(level))}</span>`;
  $("warnings").innerHTML = (issued.length ? issued.map((c) => `<li>${badge(c.level)} ${areaName(c.area)}</li>`).join("")
    : `<li class="hint">${esc(t("map.no_warning"))}</li>`) +
    pending.map((a) => `<li class="pending">${badge(a.level)} ${areaName(a.area)} ` +
      `<a class="hint" href="/command">${esc(t("map.awaiting_approval"))}</a></li>`).join("");
  $("evacuation").innerHTML = th("map.area", "map.tasks", "map.open", "map.safe", "map.moved") +
    byLevel.map((a) => `<tr><td><a href="/evacuation?area=${encodeURIComponent(a.area)}">${areaName(a.area)}</a></td>` +
      `<td>${a.tasks}</td><td>${a.open + a.contacted + (a.unreachable || 0)}</td>` +
      `<td>${a.confirmed_safe}</td><td>${a.relocated}</td></tr>`).join("");
  const event = state.events[state.events.length - 1];
  $("event").textContent = event || "";
  $("reports").innerHTML = th("map.village", "map.stage", "map.affected", "map.trapped", "map.moved") +
    state.villages.filter((v) => v.report || v.late).map((v) => `<tr${v.late ? ' class="late"' : ""}><td translate="no">${esc(v.name)}</td><td>` +
      (v.late ? `${esc(t("events.late", { stage: word("stage.", v.late) }))}</td>` : `${esc(word("stage.", v.report.stage))}</td>`) +
      (v.report ? `<td>${v.report.affected_population}</td><td>${v.report.trapped}</td>` : "<td></td><td></td>") +
      `<td>${v.relocated}</td></tr>`).join("");  // issue 14: a village late with a report is shown in red
  $("exports").innerHTML = event ? `<a href="/api/command/reports/${esc(event)}/rollup.csv">${esc(t("map.csv"))}</a> · ` +
    `<a href="/api/command/reports/${esc(event)}/rollup.xlsx">${esc(t("map.excel"))}</a>` : "";
  renderEvent(state);
  $("teams").innerHTML = state.teams.map((m) => `<li><span translate="no">${esc(m.name || m.team_id)}</span> ` +
    `${esc(word("team.", m.status))}${m.incident ? ` → <span translate="no">${esc(m.incident)}</span>` : ""}</li>`).join("") ||
    `<li class="hint">${esc(t("map.no_team"))}</li>`;
  for (const v of state.villages) {
    const shape = S.areaShapes.get(v.id);
    if (!shape) continue;
    shape.setStyle({ color: COLOURS[v.level], fillColor: COLOURS[v.level], fillOpacity: v.level ? 0.25 : 0.08 });
    shape.bindPopup(villagePopup(v));
  }
  S.teamLayer.clearLayers();
  for (const i of state.incidents) {
    L.circleMarker([i.lat, i.lon], { renderer: S.renderer, radius: 16, weight: 4, color: COLOURS[4], fill: false })
      .bindPopup(esc(t("map.incident", { id: i.incident_id, priority: i.priority }))).addTo(S.teamLayer);
  }
  for (const m of state.teams) {
    const label = t("map.team", { name: m.name || m.team_id, status: word("team.", m.status) });
    L.marker([m.lat, m.lon], { title: label }).bindPopup(esc(label)).addTo(S.teamLayer);
  }
}

function villagePopup(v) {
  const r = v.report;
  const rep = r ? t("map.report_line", { stage: word("stage.", r.stage), version: r.version, affected: r.affected_population,
    trapped: r.trapped, missing: r.missing, deaths: r.deaths }) : t("map.no_report");
  const e = v.evacuation;
  const evac = t("map.evacuation_line", { tasks: e.tasks, open: e.open + e.contacted + (e.unreachable || 0), safe: e.confirmed_safe, moved: e.relocated });
  return `<b translate="no">${esc(v.name)}</b> <span translate="no">(${esc(v.township)})</span><br>` +
    `${esc(t("map.level"))} <b>${esc(levelName(v.level))}</b><br>${esc(rep)}<br>${esc(evac)}`;
}

function logLine(text) {
  const li = document.createElement("li");
  li.textContent = `${fmtTime(Date.now() / 1000)} ${text}`;
  $("log").prepend(li);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

const ON_FRAME = {
  gauge(d) {
    const mk = S.gauges.get(d.id);
    if (mk) setLevel(mk, d.level);
    scheduleMarkers();
  },
  warning(d) { logLine(t("map.log.warning", { area: villageName(d.area), level: levelName(d.level) })); scheduleState(); scheduleMarkers(); },
  cap(d) { logLine(t("map.log.cap", { type: word("cap.msg.", d.msg_type), id: d.identifier })); scheduleState(); },
  report(d) {
    const village = villageName(d.village_id);
    logLine(d.error ? t("map.log.report_rejected", { village, error: word("error.report.", d.error) })
      : t("map.log.report", { village, stage: word("stage.", d.stage || "overdue") }));
    scheduleState();
  },
  evacuation() { scheduleState(); },
  event(d) { logLine(t(d.stabilised_at ? "events.log.stable" : "events.log.declared", { event: d.event_id })); scheduleState(); },
  teams() { scheduleState(); },
  relief() { scheduleState(); },
};

// Issue 14: the current event's stage (stable or not, verified reports due by) and, for commanders, the buttons that
// mark it stable (opening 核报) or declare an event a village's initial report named.
function renderEvent(state) {
  const box = $("event-actions");
  const e = state.event;
  const parts = [];
  if (e && e.stabilised_at) {
    parts.push(`<p class="hint">${esc(t("events.stable_since", { time: fmtTime(e.stabilised_at, false),
      due: fmtTime(e.stabilised_at + 2 * 86400, false), by: e.stabilised_by }))}</p>`);
  } else if (e && S.commander) {
    parts.push(`<button type="button" class="big" data-stabilise="${esc(e.event_id)}">${esc(t("events.stabilise"))}</button>`);
  }
  for (const r of state.reported_events || []) {
    parts.push(`<p>${esc(t("events.reported", { event: r.event_id, villages: r.villages.length }))}` +
      (S.commander ? ` <button type="button" data-declare="${esc(r.event_id)}">${esc(t("events.declare"))}</button>` : "") + "</p>");
  }
  box.innerHTML = parts.join("") + '<p id="event-error" class="error"></p>';
  for (const b of box.querySelectorAll("[data-stabilise]")) {
    b.addEventListener("click", () => {
      if (!confirm(t("events.stabilise_confirm", { event: b.dataset.stabilise }))) return;
      eventAction(`/api/command/events/${encodeURIComponent(b.dataset.stabilise)}/stabilise`);
    });
  }
  for (const b of box.querySelectorAll("[data-declare]")) {
    const r = state.reported_events.find((x) => x.event_id === b.dataset.declare);
    b.addEventListener("click", () => eventAction("/api/command/events",
      { event_id: r.event_id, hazard: r.hazard, villages: r.villages }));
  }
}

async function eventAction(path, body) {
  try { await api("POST", path, body); renderState(await api("GET", "/api/command/state")); }
  catch (e) { $("event-error").textContent = e.message; }
}

function onFrame(text) {
  if (text.startsWith('{"type":"reading"')) return;  // raw readings are the console's business
  const f = JSON.parse(text);
  const handler = ON_FRAME[f.type];
  if (handler) { S.stats.frames += 1; handler(f.data); }
}

function villageName(id) {
  const v = (S.state?.villages || []).find((x) => x.id === id);
  return v ? v.name : id;
}

setInterval(() => { $("clock").textContent = fmtTime(Date.now() / 1000); }, 1000);
signIn(start);
