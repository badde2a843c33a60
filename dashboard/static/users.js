// Reporter accounts' villages on a page (issue 14): an admin sees each `reporter` account (村灾害信息员) with the
// villages it files reports for, assigns them with a picker grouped by township (PUT /api/command/reporters/{name},
// audited), and creates a new officer account. Loaded after common.js and place_picker.js.
"use strict";
const users = { data: null, open: null };

const nameOf = (id) => {
  for (const town of users.data.places) {
    const v = town.villages.find((x) => x.id === id);
    if (v) return v.name === v.id ? v.id : `${v.name}（${v.id}）`;
  }
  return id;
};

function villagesCell(r) {
  const td = document.createElement("td");
  td.className = "villages-list";
  if (!r.villages.length) { td.textContent = t("users.no_villages"); td.classList.add("hint"); return td; }
  for (const v of r.villages) { const s = document.createElement("span"); s.textContent = nameOf(v); s.translate = false; td.append(s); }
  return td;
}

function editorRow(r) {
  const tr = document.createElement("tr");
  tr.className = "editor";
  tr.dataset.editor = r.username;
  const td = document.createElement("td");
  td.colSpan = 4;
  const picker = placePicker(users.data.places, r.villages);
  const save = document.createElement("button");
  save.type = "button"; save.className = "save-villages"; save.textContent = t("users.save");
  const note = document.createElement("span");
  save.addEventListener("click", async () => {
    $("error").textContent = "";
    try {
      const got = await api("PUT", `/api/command/reporters/${encodeURIComponent(r.username)}`, { villages: picker.villages() });
      users.open = null;
      await load();
      const row = document.querySelector(`tr[data-user="${CSS.escape(r.username)}"] td:last-child`);
      if (row) { const ok = document.createElement("span"); ok.className = "saved"; ok.textContent = t("users.saved", { n: got.villages.length }); row.append(" ", ok); }
    } catch (e) { $("error").textContent = e.message; }
  });
  td.append(picker.node, save, note);
  tr.append(td);
  return tr;
}

function render() {
  const rows = [];
  for (const r of users.data.reporters) {
    const tr = document.createElement("tr");
    tr.dataset.user = r.username;
    if (users.open === r.username) tr.className = "editing";
    const user = document.createElement("td"); user.textContent = r.username; user.translate = false;
    const name = document.createElement("td"); name.textContent = r.display_name || ""; name.translate = false;
    const act = document.createElement("td");
    const edit = document.createElement("button");
    edit.type = "button"; edit.className = "edit-villages"; edit.textContent = t("users.edit");
    edit.addEventListener("click", () => { users.open = users.open === r.username ? null : r.username; render(); });
    act.append(edit);
    tr.append(user, name, villagesCell(r), act);
    rows.push(tr);
    if (users.open === r.username) rows.push(editorRow(r));
  }
  $("reporters").querySelector("tbody").replaceChildren(...rows);
  $("reporters-none").hidden = users.data.reporters.length > 0;
}

async function load() {
  users.data = await api("GET", "/api/command/reporters");
  render();
}

async function start(me) {
  $("who").textContent = `${me.display_name || me.username} · ${word("role.", me.role)}`;
  if (me.role !== "admin") { $("not-admin").hidden = false; $("reporters-section").hidden = true; return; }
  $("add-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("error").textContent = "";
    try {
      const made = await api("POST", "/api/admin/users", { username: $("add-username").value.trim(),
        password: $("add-password").value, role: "reporter", display_name: $("add-name").value.trim() });
      for (const id of ["add-username", "add-password", "add-name"]) $(id).value = "";
      users.open = made.username;
      await load();
    } catch (e) { $("error").textContent = e.message; }
  });
  await load();
}

signIn(start);
