// Admin page (issue 16): devices' MQTT credentials. Issue shows the password once; revoke cuts the device off.
"use strict";
// $, api (CSRF header, the server's detail as the error) come from common.js, loaded first.

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

const when = (ts) => (ts ? new Date(ts * 1000).toLocaleString() : "");

async function load() {
  const rows = await api("GET", "/api/devices/credentials");
  $("credentials").tBodies[0].replaceChildren(...rows.map((c) => el("tr", { "data-device": c.device_id },
    el("td", {}, c.device_id), el("td", {}, c.family || t(`security.kind_${c.kind}`)), el("td", {}, when(c.issued_at)),
    el("td", { class: "state" }, c.revoked ? `revoked ${when(c.revoked_at)}` : "active"),
    el("td", {}, c.revoked ? "" : el("button", { class: "revoke", onclick: () => revoke(c.device_id) }, "Revoke")))));
}

async function issue(ev) {
  ev.preventDefault();
  $("error").textContent = ""; $("issued").hidden = true;
  try {
    const got = await api("POST", `/api/devices/${encodeURIComponent($("issue-id").value)}/credentials?kind=${$("issue-kind").value}`);
    $("issued").textContent = `${got.device_id}: user name ${got.username}, password ${got.password} ` +
      "(shown once: copy it into the device now)";
    $("issued").hidden = false;
    await load();
  } catch (e) { $("error").textContent = e.message; }
}

async function revoke(deviceId) {
  if (!window.confirm(`Revoke ${deviceId}? The broker refuses it and the hub ignores it from now on.`)) return;
  $("error").textContent = "";
  try { await api("POST", `/api/devices/${encodeURIComponent(deviceId)}/revoke`); await load(); }
  catch (e) { $("error").textContent = e.message; }
}

$("issue-form").addEventListener("submit", issue);
fetch("/api/me", { credentials: "same-origin" }).then(async (r) => {
  if (!r.ok) { $("signin").hidden = false; return; }
  const me = await r.json();
  $("who").textContent = `${me.display_name || me.username} (${me.role})`;
  $("devices-main").hidden = false;
  load().then(loadAliases).catch((e) => { $("error").textContent = e.message; });
});

// Issue 16: the aliases, read here; managed with `hub registry add-alias|remove-alias` or /api/aliases (audited).
async function loadAliases() {
  const rows = await api("GET", "/api/aliases");
  $("aliases").tBodies[0].replaceChildren(...rows.map((a) => el("tr", {},
    el("td", {}, a.source), el("td", {}, a.bridge || ""), el("td", {}, a.external_id), el("td", {}, a.device_id))));
}
