// The draft review page (issue 14): CAP drafts from the gauge and report rules wait here for a commander, who edits
// and approves or rejects each; only approved messages reach /cap/alerts.xml. Big buttons in the warning's colour.
"use strict";

const LEVELS = [1, 2, 3, 4];  // blue IV .. red I
const COLOUR = { 1: "blue", 2: "yellow", 3: "orange", 4: "red" };
const COMMANDERS = ["commander", "admin"];
let canDecide = false;

function levelText(level) { return `${t(`level.${level}`)}（${t(`grade.${level}`)}）`; }

function kindText(d) {
  return t(`command.kind.${d.msg_type}`);
}

function evidenceNode(d) {
  const ev = d.evidence || {};
  const box = document.createElement("div");
  const line = (text) => { const p = document.createElement("div"); p.textContent = text; box.append(p); };
  if (ev.source === "gauge") {
    const features = ev.features || {};
    const metric = Object.keys(features).find((k) => I18N.messages[`cap.reason.${k}`]);
    const value = metric ? Number(features[metric]).toPrecision(3) : "";
    const b = document.createElement("b");
    b.textContent = metric ? t(`cap.reason.${metric}`, { value, terminal: ev.terminal }) : ev.terminal;
    box.append(b);
    line(t("command.evidence.gauge", { terminal: ev.terminal, kind: word("device.", ev.kind || ""),
                                       previous: t(`level.${ev.previous_level || 0}`), time: fmtTime(ev.ts, false) }));
    if (ev.ladder) {  // the thresholds the station was judged by (issue 14: its own where recorded)
      const steps = ev.ladder.steps.map((x) => Number(Number(x).toFixed(2))).join("/");
      line(t(ev.ladder.own ? "command.evidence.ladder" : "command.evidence.ladder_default", { steps }));
    }
  } else if (ev.source === "report") {
    const b = document.createElement("b");
    b.textContent = t("command.evidence.report", { event: ev.event_id, officer: ev.officer || "-",
                                                   hazard: word("command.hazard.", ev.hazard || "") });
    box.append(b);
    const parts = Object.entries(ev.indicators || {}).map(([k, v]) => `${word("indicator.", k)} ${v}`);
    if (parts.length) line(parts.join("；"));
  } else {
    const b = document.createElement("b");
    b.textContent = t("command.evidence.external", { source: ev.terminal || "" });
    box.append(b);
  }
  return box;
}

function parsePolygon(text) {
  const rows = text.split(/\n|;/).map((s) => s.trim()).filter(Boolean);
  return rows.map((row) => row.split(/[,，\s]+/).map(Number));
}

function card(d) {
  const node = $("draft-card").content.firstElementChild.cloneNode(true);
  applyI18n(node);
  node.dataset.draft = d.draft_id;
  // once the commander has touched a card, a refresh (a new frame, the websocket reconnecting) keeps this card as it
  // is instead of redrawing it with the draft's own values under their hand
  const touched = () => { node.dataset.touched = "1"; };
  node.addEventListener("input", touched);
  node.addEventListener("click", (ev) => { if (ev.target.closest(".lvbtn")) touched(); });
  let level = d.level;
  const paint = () => {
    node.className = `draft lv${level}`;
    node.querySelector(".draft-level").textContent = levelText(level);
    for (const b of node.querySelectorAll(".lvbtn")) b.setAttribute("aria-pressed", String(Number(b.dataset.level) === level));
    node.querySelector(".relevel").hidden = level === d.level;
  };
  node.querySelector(".draft-village").textContent = d.village + (d.township ? ` · ${d.township}` : "");
  node.querySelector(".draft-kind").textContent = kindText(d);
  node.querySelector(".draft-time").textContent = t("command.drafted_at", { time: fmtTime(d.created, false) });
  node.querySelector(".evidence").append(evidenceNode(d));
  node.querySelector(".auto").textContent = d.auto_issue_at
    ? t("command.auto_at", { time: fmtTime(d.auto_issue_at, false) }) : t("command.auto_never");
  const levels = node.querySelector(".levels");
  if (d.action === "cancel") levels.hidden = true;
  for (const lv of LEVELS) {
    const b = document.createElement("button");
    b.type = "button"; b.className = `lvbtn lv${lv}`; b.dataset.level = String(lv);
    b.textContent = levelText(lv);
    b.addEventListener("click", () => { level = lv; paint(); });
    levels.append(b);
  }
  const fields = { headline: ".f-headline", description: ".f-description", instruction: ".f-instruction", area_desc: ".f-area" };
  for (const [name, sel] of Object.entries(fields)) node.querySelector(sel).value = d[name] || "";
  if (d.action === "cancel") {
    for (const sel of [".f-headline", ".f-instruction", ".f-area", ".f-polygon"]) node.querySelector(sel).closest("label").hidden = true;
  }
  const error = node.querySelector(".draft-error");
  const buttons = [node.querySelector(".approve"), node.querySelector(".reject")];
  for (const b of buttons) b.disabled = !canDecide;
  node.querySelector(".approve").addEventListener("click", async () => {
    const edits = {};
    for (const [name, sel] of Object.entries(fields)) {
      const value = node.querySelector(sel).value.trim();
      if (value !== (d[name] || "")) edits[name] = value;
    }
    if (level !== d.level) edits.level = COLOUR[level];
    const poly = node.querySelector(".f-polygon").value.trim();
    if (poly) {
      const points = parsePolygon(poly);
      if (points.length < 3 || points.some((p) => p.length !== 2 || p.some((x) => !Number.isFinite(x)))) {
        error.textContent = t("error.draft.bad_polygon");
        return;
      }
      edits.polygon = points;
    }
    await decide(d, "approve", edits, error, buttons);
  });
  node.querySelector(".reject").addEventListener("click", async () => {
    await decide(d, "reject", { note: node.querySelector(".f-note").value.trim() }, error, buttons);
  });
  paint();
  return node;
}

async function decide(d, action, body, error, buttons) {
  for (const b of buttons) b.disabled = true;
  error.textContent = "";
  try {
    await api("POST", `/api/command/drafts/${encodeURIComponent(d.draft_id)}/${action}`, body);
    await refresh();
  } catch (e) {
    error.textContent = e.message;
    for (const b of buttons) b.disabled = !canDecide;
  }
}

function renderPolicy(policy) {
  const minutes = (policy && policy.auto_issue_minutes) || {};
  const entries = Object.entries(minutes);
  const node = $("policy");
  node.className = entries.length ? "policy on" : "policy";
  const levelOf = { blue: 1, yellow: 2, orange: 3, red: 4 };
  node.textContent = entries.length
    ? t("command.policy.on", { rules: entries.map(([c, m]) => t("command.policy.rule", { level: levelText(levelOf[c]), minutes: m })).join("；") })
    : t("command.policy.off");
}

function renderHistory(rows) {
  const body = $("history").querySelector("tbody");
  body.replaceChildren();
  for (const d of rows) {
    const tr = document.createElement("tr");
    body.append(tr);
    const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.append(td); return td; };
    cell(fmtTime(d.decided_at, false));
    cell(d.village).translate = false;
    const level = (d.edits && d.edits.level) || d.level;  // what went out, the commander's level where changed
    const badge = document.createElement("span");
    badge.className = `badge lv${level}`; badge.textContent = levelText(level);
    cell("").append(badge);
    cell(kindText(d));
    const status = d.status === "approved" && d.decided_by === "auto-policy" ? "auto" : d.status;
    cell(t(`command.status.${status}`), `st-${d.status}`);
    cell(d.decided_by).translate = false;
    const capCell = cell("");
    if (d.identifier) {
      const a = document.createElement("a");
      a.href = `/cap/alerts/${encodeURIComponent(d.identifier)}.xml`; a.target = "_blank"; a.textContent = d.identifier;
      capCell.append(a);
    }
  }
}

async function refresh() {
  const data = await api("GET", "/api/command/drafts");
  renderPolicy(data.policy);
  const list = $("drafts");
  const kept = new Map([...list.querySelectorAll("article.draft[data-touched]")].map((n) => [n.dataset.draft, n]));
  list.replaceChildren();
  if (!data.drafts.length) {
    const p = document.createElement("p");
    p.className = "hint"; p.textContent = t("command.none_pending");
    list.append(p);
  }
  for (const d of data.drafts) list.append(kept.get(String(d.draft_id)) || card(d));
  $("pending-count").textContent = data.drafts.length ? String(data.drafts.length) : "";
  document.title = (data.drafts.length ? `(${data.drafts.length}) ` : "") + t("command.title");
  renderHistory(data.history);
  window.commandStats = { pending: data.drafts.length, history: data.history.length };
}

// Admins: each station's own thresholds (issue 14, item 3), one row per terminal, saved one at a time.
const STATION_FIELDS = {
  river_gauge: [["warning_level_m", "number"], ["guarantee_level_m", "number"]],
  rain_gauge: [["rain_1h_mm", "steps"], ["rain_3h_mm", "steps"], ["rain_24h_mm", "steps"]],
  landslide: [["displacement_mm", "steps"]],
};

function stationRow(st) {
  const tr = document.createElement("tr");
  tr.dataset.station = st.station_id;
  const cell = () => { const td = document.createElement("td"); tr.append(td); return td; };
  const idCell = cell();
  idCell.textContent = `${st.station_id} · ${word("device.", st.kind)}`; idCell.translate = false;
  const villageCell = cell();
  villageCell.textContent = st.village; villageCell.translate = false;  // a name: data, not a string of the page
  const form = cell();
  const inputs = {};
  for (const [name, type] of STATION_FIELDS[st.kind] || []) {
    const label = document.createElement("label");
    label.className = "inline";
    const span = document.createElement("span");
    span.textContent = t(`command.station.${name}`);
    const input = document.createElement("input");
    input.className = `s-${name}`;
    const own = st.own ? st.own[name] : null;
    input.value = own === null || own === undefined ? "" : (type === "steps" ? own.join("/") : String(own));
    input.placeholder = t("command.station.default");
    inputs[name] = [input, type];
    label.append(span, input);
    form.append(label);
  }
  const error = document.createElement("span");
  error.className = "error";
  const save = document.createElement("button");
  save.type = "button"; save.className = "save"; save.textContent = t("command.station.save");
  save.addEventListener("click", async () => {
    const body = {};
    for (const [name, [input, type]] of Object.entries(inputs)) {
      const text = input.value.trim();
      body[name] = !text ? null : (type === "steps" ? text.split(/[\/／]/).map(Number) : Number(text));
    }
    error.textContent = "";
    try {
      await api("PUT", `/api/command/stations/${encodeURIComponent(st.station_id)}`, body);
      save.textContent = t("command.station.saved");
    } catch (e) { error.textContent = e.message; }
  });
  const last = cell();
  last.append(save, error);
  return tr;
}

async function loadStations() {
  const rows = await api("GET", "/api/command/stations");
  const body = $("stations").querySelector("tbody");
  body.replaceChildren(...rows.filter((s) => STATION_FIELDS[s.kind]).map(stationRow));
}

function tick() { $("clock").textContent = fmtTime(Date.now() / 1000, false); }

async function start(me) {
  canDecide = COMMANDERS.includes(me.role);
  $("readonly").hidden = canDecide;
  $("who").textContent = `${me.display_name || me.username} · ${word("role.", me.role)}`;
  tick(); setInterval(tick, 15_000);
  await refresh();
  if (me.role === "admin") { $("stations-section").hidden = false; await loadStations(); }
  let pending = null;  // a burst of frames makes one reload; a card being edited is not redrawn under the hand
  live((text) => {
    const frame = JSON.parse(text);
    if (frame.type !== "draft" && frame.type !== "cap") return;
    clearTimeout(pending);
    pending = setTimeout(() => {
      if (document.activeElement && document.activeElement.closest(".draft")) return;
      refresh().catch(() => {});
    }, 500);
  }, () => refresh().catch(() => {}));
}

signIn(start);
