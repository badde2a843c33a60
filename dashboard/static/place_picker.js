// A village picker grouped by township (issue 14): used by /command (an event's affected villages) and /users
// (a reporter's villages). `places` is [{township, villages: [{id, name}]}] as /api/command/events and
// /api/command/reporters give it. Ticking a township ticks all its villages; a township half chosen shows so.
// Loaded after common.js (t). Names are data: marked translate="no".
"use strict";

function placePicker(places, chosen = []) {
  const picked = new Set(chosen);
  const root = document.createElement("div");
  root.className = "picker";
  const count = document.createElement("p");
  count.className = "hint picker-count";
  const towns = [];
  const update = () => {
    for (const [all, boxes] of towns) {
      const on = boxes.filter((b) => b.checked).length;
      all.checked = on === boxes.length && on > 0;
      all.indeterminate = on > 0 && on < boxes.length;
    }
    count.textContent = t("picker.selected", { n: root.querySelectorAll("input.pv:checked").length });
  };
  for (const town of places) {
    const set = document.createElement("fieldset");
    set.className = "picker-town";
    set.dataset.township = town.township;
    const legend = document.createElement("legend");
    const all = document.createElement("input");
    all.type = "checkbox"; all.className = "pt"; all.value = town.township;
    const name = document.createElement("b");
    name.textContent = town.township || t("picker.no_township");
    name.translate = false;
    const whole = document.createElement("label");
    whole.append(all, name, " ", t("picker.whole_township", { n: town.villages.length }));
    legend.append(whole);
    set.append(legend);
    const boxes = town.villages.map((v) => {
      const label = document.createElement("label");
      label.className = "pv-label";
      const box = document.createElement("input");
      box.type = "checkbox"; box.className = "pv"; box.value = v.id; box.checked = picked.has(v.id);
      box.addEventListener("change", update);
      const text = document.createElement("span");
      text.textContent = v.name === v.id ? v.id : `${v.name}（${v.id}）`;
      text.translate = false;
      label.append(box, text);
      set.append(label);
      return box;
    });
    all.addEventListener("change", () => { for (const b of boxes) b.checked = all.checked; update(); });
    towns.push([all, boxes]);
    root.append(set);
  }
  root.append(count);
  update();
  return {
    node: root,
    villages: () => [...root.querySelectorAll("input.pv:checked")].map((b) => b.value),
    townships: () => towns.filter(([all]) => all.checked).map(([all]) => all.value),
  };
}
