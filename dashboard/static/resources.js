// Rescue teams and relief supplies (issue 14, item 6): register a team, compare the optimal assignment with the
// greedy one and confirm it, follow each team (en route / on scene / done), sign stock in, plan relief by the linear
// program, approve it (stock falls in the ledger), confirm receipt at the village.
// Loaded after common.js ($, api, signIn, live, t, word, fmtTime). Commanders act; other staff see and relay.
// Every string from the catalogue (issue 18); data (names of teams, warehouses, villages and people, ids, times) is
// marked translate="no" and set beside the catalogue's words, never spliced into them.
"use strict";
const page = { data: null, commander: false, proposal: null };

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat(Infinity)) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

const itemName = (item) => word("resources.item.", item);
const unitOf = (item) => {
  const found = (page.data?.items || []).find((i) => i.item === item);
  return found ? word("resources.unit.", found.unit) : "";
};
const qty = (n) => Number(n).toLocaleString("zh-CN", { maximumFractionDigits: 1 });
const villageName = (id) => {  // data: show it with place(id)
  const found = (page.data?.incidents || []).find((i) => i.incident_id === id);
  return found && found.name ? `${found.name}（${id}）` : id;
};
const place = (id) => datum(villageName(id));
const whName = (id) => (page.data?.warehouses.find((w) => w.warehouse_id === id) || {}).name || id;
const soon = (day) => Boolean(day) && new Date(`${day}T00:00:00+08:00`).getTime() - Date.now() < 30 * 86400 * 1000;  // expires within 30 days
// Data in a node of its own, marked as not to be translated.
const datum = (text, attrs = {}) => el("span", { ...attrs, translate: "no" }, text);
const when = (ts) => datum(fmtTime(ts, false));
// Who recorded a change: a person's name is data; `hub demo` seeds the demo's teams and stock, a word of the catalogue.
const DEMO_ACTOR = "hub demo";
// issue 14: a team's own device reports over MQTT as `team:<id>` (the team's name is on the same row).
const actor = (name) => (name === DEMO_ACTOR ? el("span", {}, t("resources.actor.demo"))
  : name.startsWith("team:") ? el("span", { class: "by-team" }, t("resources.actor.team")) : datum(name));
// "label: a, b, c" with each value in a node of its own; the separator is the language's.
const listed = (values) => values.flatMap((v, i) => (i ? [t("error.list_separator"), v] : [v]));
// A quantity and its unit: the number, then the unit's word.
const amount = (n, item) => [datum(qty(n)), " ", el("span", {}, unitOf(item))];
const head = (...keys) => el("tr", {}, keys.map((k) => el("th", {}, k ? t(k) : "")));

async function act(fn) {
  $("error").textContent = "";
  try { await fn(); await load(); } catch (e) { $("error").textContent = e.message; }
}

function renderTeams(teams) {
  const rows = teams.map((tm) => el("tr", { "data-team": tm.team_id },
    el("td", { translate: "no" }, tm.name), el("td", {}, listed(tm.capabilities.map((c) => el("span", {}, word("resources.cap.", c))))),
    el("td", { class: `status status-${tm.status}` }, word("resources.status.", tm.status)),
    el("td", { title: tm.assignment ? t("resources.team.assignment", { id: tm.assignment }) : "" },
      tm.incident ? place(tm.incident) : "—"),
    el("td", { class: "hint" }, actor(tm.updated_by), " ", when(tm.updated_at)),
    el("td", {}, tm.next.filter((s) => s !== "en_route").map((s) => el("button", { type: "button", "data-move": s,
      onclick: () => act(() => api("POST", `/api/resources/teams/${encodeURIComponent(tm.team_id)}/status`, { status: s })) },
    word("resources.move.", s))))));
  $("teams").replaceChildren(head("resources.team.name", "resources.team.caps", "resources.team.status",
    "resources.team.incident", "resources.team.by", ""), ...rows);
}

function planColumn(key, plan, confirmable) {
  const list = el("ol", {}, plan.pairs.map((p) => el("li", {}, datum(p.team), " → ", place(p.incident))));
  if (!plan.pairs.length) list.append(el("li", { class: "hint" }, t("resources.assign.none")));
  const waiting = plan.unassigned.length ? el("p", { class: "hint" },
    el("span", {}, t("resources.assign.waiting")), " ", listed(plan.unassigned.map(place))) : null;
  const confirm = confirmable && plan.pairs.length ? el("button", { type: "button", id: "confirm-assign", class: "command-only",
    onclick: () => act(async () => {
      await api("POST", "/api/resources/assignment", { pairs: plan.pairs.map((p) => [p.team_id, p.incident]) });
      $("assignment").replaceChildren();
    }) }, t("resources.assign.confirm")) : null;
  return el("div", { class: `plan-${key}` }, el("h3", {}, t(`resources.assign.${key}`)),
    el("p", {}, t("resources.assign.cost", { cost: plan.cost.toFixed(2) })), list, waiting, confirm);
}

async function propose() {
  const got = await api("GET", "/api/resources/assignment");
  $("assignment").replaceChildren(planColumn("optimal", got.optimal, true), planColumn("greedy", got.greedy, false));
}

// issue 14: each receipt is a lot; stock shown is what may be issued (lots not expired), expired lots apart, in red
function lotsTable(w) {
  if (!w.lots.length) return null;
  return el("details", { class: "lots" }, el("summary", {}, t("stock.lots")),
    el("table", {}, head("stock.lot", "resources.item", "stock.lot.left", "resources.expires", "stock.signed_by"),
      w.lots.map((lot) => el("tr", { "data-lot": lot.lot_id, class: lot.expired ? "expired low" : "" },
        el("td", { class: "hint" }, datum(lot.lot_id)), el("td", {}, itemName(lot.item)),
        el("td", { class: "num" }, datum(`${qty(lot.remaining)} / ${qty(lot.received)}`)),
        el("td", {}, lot.expires ? datum(lot.expires) : t("stock.lot.no_expiry"),
          lot.expired ? [" ", el("strong", { class: "expired-mark" }, t("stock.expired"))] : null),
        el("td", {}, actor(lot.signed_by))))));
}

function renderWarehouses(warehouses, items) {
  $("warehouses").replaceChildren(...warehouses.map((w) => el("div", { "data-warehouse": w.warehouse_id },
    el("h3", { translate: "no" }, w.name), w.township ? el("p", { class: "hint" }, t("stock.township"), datum(w.township)) : null,
    el("table", {}, head("resources.item", "resources.stock", "resources.unit", "resources.expires"),
      items.map((i) => {
        const have = (w.usable || w.stock)[i.item] || 0, expired = (w.expired || {})[i.item] || 0;
        return el("tr", { "data-item": i.item }, el("td", {}, itemName(i.item)),
          el("td", { class: `num stock${have <= 0 ? " low" : ""}` }, qty(have),
            expired ? el("div", { class: "low expired-qty" }, t("stock.expired_n", { n: qty(expired) })) : null),
          el("td", {}, word("resources.unit.", i.unit)), el("td", { class: soon(w.expires[i.item]) ? "low" : "hint", translate: "no" }, w.expires[i.item] || ""));
      })), lotsTable(w))));
  const keepTown = $("wh-township").value;
  $("wh-township").replaceChildren(...(page.data.townships || []).map((tw) => el("option", { value: tw, translate: "no" }, tw)));
  if (keepTown) $("wh-township").value = keepTown;
  const keepLedger = $("ledger-wh").value;
  $("ledger-wh").replaceChildren(el("option", { value: "" }, t("stock.ledger.all")),
    ...warehouses.map((w) => el("option", { value: w.warehouse_id, translate: "no" }, w.name)));
  $("ledger-wh").value = keepLedger;
  const keepWh = $("receipt-wh").value, keepItem = $("receipt-item").value;
  $("receipt-wh").replaceChildren(...warehouses.map((w) => el("option", { value: w.warehouse_id, translate: "no" }, w.name)));
  $("receipt-item").replaceChildren(...items.map((i) => el("option", { value: i.item }, t("resources.item_unit", { item: itemName(i.item), unit: word("resources.unit.", i.unit) }))));
  if (keepWh) $("receipt-wh").value = keepWh;
  if ($("receipt-wh").dataset.pick) { $("receipt-wh").value = $("receipt-wh").dataset.pick; delete $("receipt-wh").dataset.pick; }
  if (keepItem) $("receipt-item").value = keepItem;
}

function renderPlans(plans) {
  if (!plans.length) { $("plans").replaceChildren(el("p", { class: "hint" }, t("resources.relief.none"))); return; }
  $("plans").replaceChildren(...plans.slice(0, 3).map((p) => {
    const villages = [...new Set(p.shipments.map((s) => s.village_id))];
    const who = p.status === "approved"
      ? [el("span", {}, t("resources.relief.approved_by")), " ", actor(p.approved_by), " ", when(p.approved_at)]
      : [el("span", {}, t("resources.relief.drafted_by")), " ", actor(p.created_by), " ", when(p.created_at)];
    const fill = Object.entries(p.fill).filter(([, f]) => f < 0.999).map(([i, f]) => `${itemName(i)} ${Math.round(f * 100)}%`);
    return el("div", { class: `plan plan-${p.status}`, "data-plan": p.plan_id },
      el("h3", {}, datum(p.plan_id), " · ", el("span", {}, word("resources.relief.status.", p.status))), el("p", { class: "hint" }, who),
      fill.length ? el("p", { class: "low" }, t("resources.relief.short", { items: fill.join("、") })) : null,
      el("table", {}, head("resources.relief.from", "resources.relief.to", "resources.item", "resources.quantity", "resources.relief.km"),
        p.shipments.map((s) => el("tr", {}, el("td", { translate: "no" }, whName(s.warehouse_id)), el("td", {}, place(s.village_id)),
          el("td", {}, itemName(s.item)), el("td", { class: "num" }, amount(s.quantity, s.item)),
          el("td", { class: "num" }, s.distance_km.toFixed(1))))),
      p.status === "draft" ? el("button", { type: "button", class: "approve command-only",
        onclick: () => act(() => api("POST", `/api/resources/relief/${p.plan_id}/approve`)) }, t("resources.relief.approve")) : null,
      p.status === "approved" ? el("ul", {}, villages.map((v) => el("li", { "data-village": v }, place(v), " ",
        p.receipts[v] ? el("span", { class: "in" }, el("span", {}, t("resources.relief.received")), " ", actor(p.receipts[v].by), " ",
          when(p.receipts[v].at))
          : el("button", { type: "button", class: "receive",
            onclick: () => act(() => api("POST", `/api/resources/relief/${p.plan_id}/receipts/${encodeURIComponent(v)}`)) },
          t("resources.relief.confirm_receipt"))))) : null);
  }));
}

function renderLedger(lines) {
  $("ledger").replaceChildren(head("resources.ledger.time", "resources.ledger.warehouse", "resources.item",
    "resources.quantity", "resources.ledger.kind", "stock.lot", "resources.expires", "stock.signed_by", "resources.ledger.by",
    "resources.ledger.ref"),
  ...lines.map((e) => el("tr", { class: `entry-${e.kind}`, "data-entry": e.entry_id }, el("td", {}, when(e.ts)), el("td", { translate: "no" }, whName(e.warehouse_id)),
    el("td", {}, itemName(e.item)), el("td", { class: `num ${e.quantity < 0 ? "out" : "in"}` }, `${e.quantity > 0 ? "+" : ""}${qty(e.quantity)}`),
    el("td", {}, word("resources.ledger.", e.kind)), el("td", { class: "hint lot" }, datum(e.lot || "")),
    el("td", { translate: "no" }, e.expires), el("td", {}, e.signed_by ? actor(e.signed_by) : ""), el("td", {}, actor(e.actor)),
    el("td", { class: "hint" }, e.ref ? [datum(e.ref), " → ", place(e.note)] : word("resources.note.", e.note)))));
}

const ledgerUrl = () => `/api/resources/ledger?limit=100${$("ledger-wh").value ? `&warehouse_id=${encodeURIComponent($("ledger-wh").value)}` : ""}`;

async function load() {
  const data = await api("GET", "/api/resources");
  page.data = data;
  renderTeams(data.teams);
  renderWarehouses(data.warehouses, data.items);
  renderPlans(data.plans);
  renderLedger(await api("GET", ledgerUrl()));
  if (!$("wh-lat").value && data.warehouses.length) {
    $("wh-lat").value = data.warehouses[0].lat.toFixed(4);
    $("wh-lon").value = data.warehouses[0].lon.toFixed(4);
  }
  if (!$("team-lat").value && data.warehouses.length) {
    $("team-lat").value = data.warehouses[0].lat.toFixed(4);
    $("team-lon").value = data.warehouses[0].lon.toFixed(4);
  }
  if (!$("team-caps").children.length) {
    $("team-caps").replaceChildren(...data.capabilities.map((c) => el("label", {},
      el("input", { type: "checkbox", value: c }), word("resources.cap.", c))));
  }
}

async function start(me) {
  page.commander = ["commander", "admin"].includes(me.role);
  document.body.classList.toggle("commander", page.commander);
  $("who").textContent = `${me.username} · ${word("role.", me.role)}`;
  $("propose").addEventListener("click", () => act(propose));
  $("team-form").addEventListener("submit", (ev) => { ev.preventDefault(); act(async () => {
    const caps = [...$("team-caps").querySelectorAll("input:checked")].map((i) => i.value);
    await api("POST", "/api/resources/teams", { name: $("team-name").value.trim(), lat: Number($("team-lat").value),
      lon: Number($("team-lon").value), capabilities: caps });
    $("team-name").value = "";
  }); });
  $("receipt-form").addEventListener("submit", (ev) => { ev.preventDefault(); act(async () => {
    await api("POST", `/api/resources/warehouses/${encodeURIComponent($("receipt-wh").value)}/receipts`,
      { item: $("receipt-item").value, quantity: Number($("receipt-qty").value), expires: $("receipt-expires").value,
        signed_by: $("receipt-signed").value.trim() });
    $("receipt-qty").value = ""; $("receipt-expires").value = "";  // each lot has its own expiry
  }); });
  $("warehouse-form").addEventListener("submit", (ev) => { ev.preventDefault(); act(async () => {
    const made = await api("POST", "/api/resources/warehouses", { name: $("wh-name").value.trim(), township: $("wh-township").value,
      lat: Number($("wh-lat").value), lon: Number($("wh-lon").value) });
    $("wh-name").value = "";
    $("receipt-wh").dataset.pick = made.warehouse_id;
  }); });
  $("ledger-wh").addEventListener("change", () => api("GET", ledgerUrl()).then(renderLedger).catch((e) => { $("error").textContent = e.message; }));
  $("plan-form").addEventListener("submit", (ev) => { ev.preventDefault(); act(() => api("POST", "/api/resources/relief", { days: Number($("plan-days").value) })); });
  await load();
  live((text) => {
    const f = JSON.parse(text);
    if (f.type === "teams" || f.type === "relief") load().catch(() => {});
  });
}

signIn(start);
