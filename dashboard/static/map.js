// Command map (issue 6): Leaflet from the npm registry (served under /vendor/), live over /ws.
// Loaded after common.js ($, api, signIn, live).
// Gauges come from /api/command/markers, aggregated on the server (grid clusters when zoomed out), and are drawn on
// one canvas; a "gauge" frame recolours a visible marker at once and schedules a debounced re-fetch of the view.
"use strict";

const COLOURS = ["#8b98a5", "#3b8cff", "#ffd60a", "#ff8c1a", "#ff2d3a"];
const NAMES = ["none", "blue", "yellow", "orange", "red"];
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

async function start() {
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
  L.geoJSON(geo, { filter: (f) => !state.tile_url || f.properties.layer === "area", style: geoStyle,
                   pointToLayer: villagePoint, onEachFeature: keepArea }).addTo(S.map);
  S.clusterLayer = L.layerGroup().addTo(S.map);
  S.gaugeLayer = L.layerGroup().addTo(S.map);
  S.teamLayer = L.layerGroup().addTo(S.map);
  const pts = geo.features.filter((f) => f.properties.layer === "boundary");
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
    .bindTooltip(esc(f.properties.name), { permanent: true, direction: "right", className: "village-label" });
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
    $("stats").textContent = `${data.total} gauges in view: ${data.markers.length} markers, ` +
      `${data.clusters.length} clusters; refresh ${S.stats.refreshMs.toFixed(0)} ms`;
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
    const title = c.levels.map((n, i) => (n ? `${n} ${NAMES[i]}` : "")).filter(Boolean).join(", ");
    L.marker([c.lat, c.lon], { icon, title, keyboard: false }).on("click", () => S.map.setView([c.lat, c.lon],
      Math.min(S.map.getZoom() + 2, 18))).addTo(S.clusterLayer);
  }
}

function setLevel(mk, level) { mk.options.level = level; mk.setStyle({ fillColor: COLOURS[level] }); }

function gaugePopup(id, kind, village, level) {
  const g = (S.state?.gauges || []).find((x) => x.id === id);
  const rows = g ? Object.entries(g.metrics).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join("") : "";
  return `<b>${esc(id)}</b> ${esc(kind)} · ${esc(village)}<br>level <b>${NAMES[level]}</b><table>${rows}</table>`;
}

function scheduleState() {
  if (S.stateTimer) return;
  S.stateTimer = setTimeout(async () => { S.stateTimer = null; renderState(await api("GET", "/api/command/state")); },
    STATE_DEBOUNCE_MS);
}

function renderState(state) {
  S.state = state;
  const byLevel = [...state.areas].sort((a, b) => b.level - a.level);
  $("warnings").innerHTML = byLevel.length ? byLevel.map((a) =>
    `<li><span class="badge" style="background:${COLOURS[a.level]}">${NAMES[a.level]}</span> ${esc(a.area)}</li>`)
    .join("") : '<li class="hint">No warning in force.</li>';
  $("evacuation").innerHTML = "<tr><th>Area</th><th>tasks</th><th>open</th><th>safe</th><th>moved</th></tr>" +
    byLevel.map((a) => `<tr><td>${esc(a.area)}</td><td>${a.tasks}</td><td>${a.open + a.contacted}</td>` +
      `<td>${a.confirmed_safe}</td><td>${a.relocated}</td></tr>`).join("");
  const event = state.events[state.events.length - 1];
  $("event").textContent = event || "";
  $("reports").innerHTML = "<tr><th>Village</th><th>stage</th><th>affected</th><th>trapped</th><th>moved</th></tr>" +
    state.villages.filter((v) => v.report).map((v) => `<tr><td>${esc(v.name)}</td><td>${esc(v.report.stage)}` +
      `</td><td>${v.report.affected_population}</td><td>${v.report.trapped}</td><td>${v.relocated}</td></tr>`).join("");
  $("exports").innerHTML = event ? `<a href="/api/command/reports/${esc(event)}/rollup.csv">CSV</a> · ` +
    `<a href="/api/command/reports/${esc(event)}/rollup.xlsx">Excel</a>` : "";
  $("teams").innerHTML = state.teams.map((t) => `<li>${esc(t.team_id)} ${esc(t.status)}` +
    `${t.incident ? " → " + esc(t.incident) : ""}</li>`).join("") || '<li class="hint">No team registered.</li>';
  for (const v of state.villages) {
    const shape = S.areaShapes.get(v.id);
    if (!shape) continue;
    shape.setStyle({ color: COLOURS[v.level], fillColor: COLOURS[v.level], fillOpacity: v.level ? 0.25 : 0.08 });
    shape.bindPopup(villagePopup(v));
  }
  S.teamLayer.clearLayers();
  for (const i of state.incidents) {
    L.circleMarker([i.lat, i.lon], { renderer: S.renderer, radius: 16, weight: 4, color: COLOURS[4], fill: false })
      .bindPopup(`incident ${esc(i.incident_id)} priority ${i.priority}`).addTo(S.teamLayer);
  }
  for (const t of state.teams) {
    L.marker([t.lat, t.lon], { title: `team ${t.team_id}` }).bindPopup(`team ${esc(t.team_id)}: ${esc(t.status)}`)
      .addTo(S.teamLayer);
  }
}

function villagePopup(v) {
  const r = v.report;
  const rep = r ? `${esc(r.stage)} v${r.version}: affected ${r.affected_population}, trapped ${r.trapped}, ` +
    `missing ${r.missing}, deaths ${r.deaths}` : "no report yet";
  const e = v.evacuation;
  return `<b>${esc(v.name)}</b> (${esc(v.township)})<br>level <b>${NAMES[v.level]}</b><br>${rep}<br>` +
    `evacuation: ${e.tasks} tasks, ${e.open + e.contacted} open, ${e.confirmed_safe} safe, ${e.relocated} moved`;
}

function logLine(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $("log").prepend(li);
  while ($("log").children.length > 30) $("log").lastChild.remove();
}

const ON_FRAME = {
  gauge(d) {
    const mk = S.gauges.get(d.id);
    if (mk) setLevel(mk, d.level);
    scheduleMarkers();
  },
  warning(d) { logLine(`${d.area}: ${NAMES[d.level]} warning`); scheduleState(); scheduleMarkers(); },
  cap(d) { logLine(`CAP ${d.msg_type} ${d.identifier}`); scheduleState(); },
  report(d) { logLine(d.error ? `report ${d.village_id} rejected: ${d.error}` : `report ${d.village_id} ${d.stage || "overdue"}`); scheduleState(); },
  evacuation() { scheduleState(); },
  teams() { scheduleState(); },
  relief() { scheduleState(); },
};

function onFrame(text) {
  if (text.startsWith('{"type":"reading"')) return;  // raw readings are the console's business
  const f = JSON.parse(text);
  const handler = ON_FRAME[f.type];
  if (handler) { S.stats.frames += 1; handler(f.data); }
}

setInterval(() => { $("clock").textContent = new Date().toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }); }, 1000);
signIn(start);
