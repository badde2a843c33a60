// Disaster events on /command (issue 14, item 4): the events with their state and overdue villages; a commander
// declares a new one (hazard, name, start in China Standard Time, the townships and villages affected) and closes one
// (a confirmation with a closing note). A closed event takes no new initial report and shows nothing overdue.
// Loaded after common.js and place_picker.js; it starts once the page is signed in (#main shown by command.js).
"use strict";
const events = { commander: false, picker: null, started: false, closing: null };

const cstInput = (ts) => new Date(ts * 1000 + 8 * 3600 * 1000).toISOString().slice(0, 16);  // datetime-local value
const fromCst = (value) => Date.parse(`${value}:00+08:00`) / 1000;

function cellOf(...kids) {
  const td = document.createElement("td");
  td.append(...kids.filter((k) => k !== null && k !== undefined));
  return td;
}
function datumOf(text) { const s = document.createElement("span"); s.textContent = text; s.translate = false; return s; }

function eventRow(e, current) {
  const tr = document.createElement("tr");
  tr.dataset.event = e.event_id;
  tr.className = `ev-${e.status}`;
  const title = document.createElement("b");
  title.textContent = e.name || e.event_id; title.translate = false;
  const id = datumOf(e.name ? ` ${e.event_id}` : ""); id.className = "hint";
  const mark = e.event_id === current ? document.createElement("span") : null;
  if (mark) { mark.className = "badge-current"; mark.textContent = t("events.current"); }
  const status = document.createElement("span");
  status.className = `ev-status st-${e.status}`; status.textContent = t(`events.status.${e.status}`);
  const late = Object.keys(e.late || {}).length;
  const lateNode = document.createElement("span");
  lateNode.className = late ? "late" : "hint"; lateNode.textContent = late ? t("events.late_n", { n: late }) : "—";
  const by = document.createElement("div");
  if (e.declared_by) by.append(t("events.declared_by"), datumOf(e.declared_by));
  if (e.closed_at) {
    const closed = document.createElement("div");
    closed.className = "closed-note";
    closed.append(t("events.closed_by"), datumOf(e.closed_by), " ", datumOf(fmtTime(e.closed_at, false)), " ",
      datumOf(e.close_note));
    by.append(closed);
  }
  const action = cellOf();
  if (events.commander && e.declared && !e.closed_at) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "close-event"; b.textContent = t("events.close");
    b.addEventListener("click", () => openClose(e));
    action.append(b);
  }
  if (e.declared) {  // the roll-up of every event, closed ones too
    const link = (fmt, key) => { const a = document.createElement("a"); a.href = `/api/command/reports/${encodeURIComponent(e.event_id)}/rollup.${fmt}`; a.textContent = t(key); return a; };
    action.append(" ", link("csv", "map.csv"), " · ", link("xlsx", "map.excel"));
  }
  tr.append(cellOf(title, id, mark ? " " : null, mark), cellOf(word("command.hazard.", e.hazard)),
    cellOf(fmtTime(e.started_at, false)), cellOf(t("events.villages_n", { n: e.villages.length })),
    cellOf(status), cellOf(lateNode), cellOf(by), action);
  return tr;
}

async function loadEvents() {
  const data = await api("GET", "/api/command/events");
  const body = $("events").querySelector("tbody");
  body.replaceChildren(...data.events.map((e) => eventRow(e, data.current)));
  $("events-none").hidden = data.events.length > 0;
  if (!$("ev-hazard").options.length) {
    for (const h of data.hazards) {
      const o = document.createElement("option");
      o.value = h; o.textContent = word("command.hazard.", h);
      $("ev-hazard").append(o);
    }
  }
  if (!$("ev-start").value) $("ev-start").value = cstInput(data.now);
  if (!events.picker) {
    events.picker = placePicker(data.places);
    $("ev-places").replaceChildren(events.picker.node);
  }
  window.commandEvents = { count: data.events.length, current: data.current };
}

function openClose(e) {
  events.closing = e;
  $("close-event-name").textContent = e.name || e.event_id;
  $("close-note").value = "";
  $("close-error").textContent = "";
  $("close-dialog").showModal();
}

async function declare(ev) {
  ev.preventDefault();
  $("ev-error").textContent = "";
  const villages = events.picker ? events.picker.villages() : [];
  if (!villages.length) { $("ev-error").textContent = t("events.need_places"); return; }
  try {
    const got = await api("POST", "/api/command/events", {
      hazard: $("ev-hazard").value, name: $("ev-name").value.trim(), started_at: fromCst($("ev-start").value),
      villages, townships: events.picker.townships() });
    $("ev-done").textContent = t("events.declared", { name: got.name || got.event_id });
    $("ev-name").value = "";
    events.picker = null;
    $("ev-start").value = "";
    await loadEvents();
  } catch (e) { $("ev-error").textContent = e.message; }
}

async function confirmClose(ev) {
  ev.preventDefault();
  const e = events.closing;
  if (!e) return;
  try {
    await api("POST", `/api/command/events/${encodeURIComponent(e.event_id)}/close`, { note: $("close-note").value.trim() });
    $("close-dialog").close();
    events.closing = null;
    await loadEvents();
  } catch (err) { $("close-error").textContent = err.message; }
}

async function startEvents() {
  if (events.started) return;
  events.started = true;
  const me = await api("GET", "/api/me");
  events.commander = ["commander", "admin"].includes(me.role);
  $("event-form").hidden = !events.commander;
  $("event-form").addEventListener("submit", declare);
  $("close-form").addEventListener("submit", confirmClose);
  $("close-cancel").addEventListener("click", () => $("close-dialog").close());
  await loadEvents();
  // reports, overdue villages and other commanders' decisions change: a look every 20 s (the drafts keep the socket)
  setInterval(() => { if (!$("close-dialog").open) loadEvents().catch(() => {}); }, 20_000);
}

// command.js signs in and shows #main; the events follow as soon as it is shown
const eventsWatch = new MutationObserver(() => { if (!$("main").hidden) startEvents().catch((e) => { $("ev-error").textContent = e.message; }); });
eventsWatch.observe($("main"), { attributes: true, attributeFilter: ["hidden"] });
if (!$("main").hidden) startEvents().catch(() => {});
