// The village officer's report form (issue 14): 初报 / 续报 / 核报 of one village for one declared event, on a phone
// and a slow link (no map, no websocket, no library). What is typed is kept on the phone (localStorage) until the
// hub has accepted it, so a dropped connection loses nothing; the hub sets the report's time and checks the village.
// Loaded after common.js ($, api, signIn, t).
"use strict";

const R = { info: null, stage: "", keep: "hub_report_form" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function start(me) {
  $("who").textContent = me.display_name || me.username || "";
  R.info = await api("GET", "/api/command/reporting");
  $("village").innerHTML = R.info.villages.map((v) => `<option value="${esc(v.id)}">${esc(v.name)}</option>`).join("");
  $("event").innerHTML = R.info.events.map((e) => `<option value="${esc(e.event_id)}">${esc(e.event_id)} · ` +
    `${esc(word("command.hazard.", e.hazard))} · ${esc(fmtTime(e.started_at, false))}</option>`).join("");
  $("no-event").hidden = R.info.events.length > 0;
  $("indicators").innerHTML = R.info.indicators.map((i) => `<label><span>${esc(i.label)}</span>` +
    `<input type="number" min="0" step="${i.decimal ? "0.01" : "1"}" inputmode="${i.decimal ? "decimal" : "numeric"}" ` +
    `data-key="${esc(i.key)}" value="0"></label>`).join("");
  restore();
  for (const id of ["village", "event"]) $(id).addEventListener("change", () => { renderStages(); prefill(); });
  $("report").addEventListener("input", keep);
  $("zero").addEventListener("change", () => { $("indicators").hidden = $("zero").checked; });
  $("report").addEventListener("submit", (ev) => { ev.preventDefault(); send(); });
  renderStages();
}

function currentEvent() { return R.info.events.find((e) => e.event_id === $("event").value); }

// The stages the hub accepts now: 初报 first, then 续报; 核报 once the commander marked the event stable.
function renderStages() {
  const e = currentEvent();
  const box = $("stages");
  box.querySelectorAll("button").forEach((b) => b.remove());
  if (!e) return;
  const last = e.latest[$("village").value];
  const open = (s) => e.stages.includes(s) && (last ? s !== "initial" && last !== "verified" : s === "initial");
  for (const s of ["initial", "follow_up", "verified"]) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "stage"; b.dataset.stage = s; b.textContent = word("stage.", s);
    b.disabled = !open(s) && !(last === "verified" && s === "verified");  // after 核报: corrections of it only
    b.addEventListener("click", () => pick(s));
    box.append(b);
  }
  const first = ["initial", "follow_up", "verified"].find((s) => !box.querySelector(`[data-stage=${s}]`).disabled);
  pick(R.stage && !box.querySelector(`[data-stage=${R.stage}]`).disabled ? R.stage : first);
  $("stage-hint").textContent = e.stabilised_at ? t("rform.stable", { time: fmtTime(e.stabilised_at, false) })
    : t("rform.not_stable");
}

function pick(stage) {
  R.stage = stage || "";
  for (const b of $("stages").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.stage === stage));
  $("zero-box").hidden = stage !== "follow_up";
  if (stage !== "follow_up") { $("zero").checked = false; $("indicators").hidden = false; }
}

// The next follow-up starts from the village's latest figures (and the people the evacuation moved).
async function prefill() {
  const e = currentEvent();
  if (!e || !e.latest[$("village").value]) return;
  const q = new URLSearchParams({ event_id: e.event_id, village_id: $("village").value });
  try {
    const draft = await api("GET", `/api/command/reports/draft?${q}`);
    for (const input of $("indicators").querySelectorAll("input")) input.value = draft.indicators[input.dataset.key] ?? 0;
  } catch (err) { $("result").textContent = err.message; }
}

function formValues() {
  const indicators = {};
  for (const input of $("indicators").querySelectorAll("input")) indicators[input.dataset.key] = input.value || "0";
  return { village_id: $("village").value, event_id: $("event").value, stage: R.stage, zero: $("zero").checked,
    corrected: $("corrected").checked, note: $("note").value.trim(), indicators };
}

function keep() { localStorage.setItem(R.keep, JSON.stringify(formValues())); }

function restore() {
  const saved = JSON.parse(localStorage.getItem(R.keep) || "null");
  if (!saved) { prefill(); return; }
  if ([...$("village").options].some((o) => o.value === saved.village_id)) $("village").value = saved.village_id;
  if ([...$("event").options].some((o) => o.value === saved.event_id)) $("event").value = saved.event_id;
  for (const input of $("indicators").querySelectorAll("input")) input.value = saved.indicators[input.dataset.key] ?? 0;
  $("note").value = saved.note || ""; $("corrected").checked = !!saved.corrected; $("zero").checked = !!saved.zero;
  R.stage = saved.stage || "";
  $("result").textContent = t("rform.restored");
}

async function send() {
  const form = formValues();
  if (!form.stage || !form.event_id) { $("result").textContent = t("rform.pick_stage"); return; }
  const body = { event_id: form.event_id, village_id: form.village_id, stage: form.stage, note: form.note,
    zero: form.zero, corrected: form.corrected };
  if (!form.zero) body.indicators = Object.fromEntries(Object.entries(form.indicators).map(([k, v]) => [k, Number(v)]));
  $("send").disabled = true;
  $("result").className = ""; $("result").textContent = t("rform.sending");
  try {
    const kept = await api("POST", "/api/command/reports", body);
    localStorage.removeItem(R.keep);
    $("result").className = "ok";
    $("result").textContent = t("rform.sent", { stage: word("stage.", kept.stage), version: kept.version });
    R.info = await api("GET", "/api/command/reporting");
    $("corrected").checked = false; $("zero").checked = false; $("note").value = "";
    renderStages();
  } catch (err) {  // kept on the phone: nothing typed is lost on a dropped link
    keep();
    $("result").className = "error";
    $("result").textContent = err instanceof TypeError ? t("rform.offline") : err.message;
  } finally { $("send").disabled = false; }
}

signIn(start);
