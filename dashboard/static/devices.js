// Admin page (issue 16): devices' MQTT credentials. Issue shows the password once; revoke cuts the device off.
"use strict";
// $, api (CSRF header, the server's detail as the error), t, word and fmtTime come from common.js, loaded first.
// Every string from the catalogue (dashboard/i18n/*.devices.json), times in China Standard Time, 24-hour.

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

const when = (ts) => (ts ? fmtTime(ts, false) : "");

async function load() {
  const rows = await api("GET", "/api/devices/credentials");
  $("credentials").tBodies[0].replaceChildren(...rows.map((c) => el("tr", { "data-device": c.device_id },
    el("td", { translate: "no" }, c.device_id), el("td", {}, c.family ? word("family.", c.family) : t(`security.kind_${c.kind}`)),
    el("td", {}, when(c.issued_at)),
    el("td", { class: "state" }, c.revoked ? t("devices.state.revoked", { time: when(c.revoked_at) }) : t("devices.state.active")),
    el("td", {}, c.revoked ? "" : el("button", { class: "revoke", onclick: () => revoke(c.device_id) }, t("devices.revoke"))))));
}

async function issue(ev) {
  ev.preventDefault();
  $("error").textContent = ""; $("issued").hidden = true;
  try {
    const got = await api("POST",
      `/api/devices/${encodeURIComponent($("issue-id").value)}/credentials?kind=${$("issue-kind").value}`);
    $("issued-text").textContent = t("devices.issued", { device: got.device_id, username: got.username });
    $("issued-password").textContent = got.password;
    $("issued").hidden = false;
    await load();
  } catch (e) { $("error").textContent = e.message; }
}

async function revoke(deviceId) {
  if (!window.confirm(t("devices.confirm_revoke", { device: deviceId }))) return;
  $("error").textContent = "";
  try { await api("POST", `/api/devices/${encodeURIComponent(deviceId)}/revoke`); await load(); }
  catch (e) { $("error").textContent = e.message; }
}

$("issue-form").addEventListener("submit", issue);
i18nReady.then(() => fetch("/api/me", { credentials: "same-origin" })).then(async (r) => {
  if (!r.ok) { $("signin").hidden = false; return; }
  const me = await r.json();
  $("who").replaceChildren(el("span", { translate: "no" }, me.display_name || me.username), " ",
    el("span", {}, word("role.", me.role)));
  $("devices-main").hidden = false;
  load().then(loadAliases).catch((e) => { $("error").textContent = e.message; });
});

// Issue 16: the aliases, read here; managed with `hub registry add-alias|remove-alias` or /api/aliases (audited).
async function loadAliases() {
  const rows = await api("GET", "/api/aliases");
  $("aliases").tBodies[0].replaceChildren(...rows.map((a) => el("tr", {},
    el("td", {}, a.source), el("td", { translate: "no" }, a.bridge || ""), el("td", { translate: "no" }, a.external_id),
    el("td", { translate: "no" }, a.device_id))));
}
