// The statistics page's second half (issue 19): services, subsidy, coverage and fleet, disaster reports, evacuation
// and relief. Each figure: a chart (uPlot), its table and a CSV of the table, with the helpers of insights.js
// (el, chart, table, col, dataCol, percent, decimal, duration, placeName). Loaded after insights.js.
"use strict";

const INDICATORS = ["affected_population", "deaths", "missing", "injured_ill", "emergency_relocated", "trapped",
  "short_of_drinking_water", "crop_affected_ha", "crop_damaged_ha", "crop_destroyed_ha", "farmland_destroyed_ha",
  "houses_collapsed_rooms", "houses_damaged_rooms", "direct_loss_10k_cny"];
const REPORT_STAGES = ["initial", "follow_up", "verified"];
const money = (x) => (x === null || x === undefined ? "" : Number(x).toFixed(2));
const serviceName = (s) => word("insights2.service.", s);
const providerName = (r) => (r.provider ? (r.provider_name || r.provider) : t("insights2.provider.none"));
const townOr = (r, all) => (r.dim === "all" ? t(all) : placeName(r));
const townCol = dataCol("monthly.col.township", (r) => townOr(r, "insights.all"));
const count = (label, key) => col(label, (r) => r[key], (r) => r[key], true);
const share = (label, key) => col(label, (r) => r[key], (r) => percent(r[key]), true);

// What a services row is grouped by, in words: all, a service, a provider, both, a township
function servicesGroup(r) {
  if (r.dim === "all") return t("insights.all");
  if (r.dim === "service") return serviceName(r.service);
  if (r.dim === "provider") return providerName(r);
  if (r.dim === "service_provider") return `${serviceName(r.service)} · ${providerName(r)}`;
  return r.township_name || r.township_code;
}

function showServices(rows) {
  const services = rows.filter((r) => r.dim === "service");
  chart($("services-chart"), t("insights2.services.chart"), services.map((r) => serviceName(r.service)),
    [{ label: t("monthly.col.orders"), values: services.map((r) => r.orders) },
      { label: t("monthly.col.completed"), values: services.map((r) => r.completed) }],
    { x: t("monthly.col.service"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } });
  table($("services-table"), "services", [
    col("insights.col.by", (r) => t(`monthly.dim.${r.dim === "all" ? "all" : r.dim}`)),
    Object.assign(col("insights.col.value", servicesGroup), { data: (r) => r.dim !== "all" && r.dim !== "service" }),
    count("monthly.col.orders", "orders"), count("monthly.col.completed", "completed"),
    share("monthly.col.completed_share", "completed_share"),
    col("monthly.col.completion_median_s", (r) => r.completion_median_s, (r) => duration(r.completion_median_s), true),
    col("monthly.col.completion_p90_s", (r) => r.completion_p90_s, (r) => duration(r.completion_p90_s), true),
    count("monthly.col.rated", "rated"),
    col("insights2.col.satisfaction", (r) => r.satisfaction, (r) => decimal(r.satisfaction), true),
    share("monthly.col.satisfied_share", "satisfied_share"),
  ], rows);
}

function showSubsidy(rows) {
  const categories = rows.filter((r) => r.dim === "category");
  chart($("subsidy-chart"), t("insights2.subsidy.chart"), categories.map((r) => word("insights2.category.", r.key)),
    [{ label: t("monthly.col.subsidy_cny"), values: categories.map((r) => r.subsidy_cny) },
      { label: t("monthly.col.copay_cny"), values: categories.map((r) => r.copay_cny) }],
    { x: t("monthly.col.category"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] }, tick: money });
  const group = (r) => (r.dim === "all" ? t("insights.all")
    : r.dim === "category" ? word("insights2.category.", r.key) : placeName(r));
  table($("subsidy-table"), "subsidy", [
    col("insights.col.by", (r) => t(`monthly.dim.${r.dim}`)),
    Object.assign(col("insights.col.value", group), { data: (r) => r.dim === "township" }),
    count("monthly.col.services", "services"), count("monthly.col.residents_served", "residents"),
    col("monthly.col.price_cny", (r) => r.price_cny, (r) => money(r.price_cny), true),
    col("monthly.col.subsidy_cny", (r) => r.subsidy_cny, (r) => money(r.subsidy_cny), true),
    col("monthly.col.copay_cny", (r) => r.copay_cny, (r) => money(r.copay_cny), true),
  ], rows);
}

function showFleet(rows, asOf) {
  const known = rows.some((r) => r.online !== null);
  $("fleet-as-of").textContent = known ? t("insights2.fleet.as_of", { at: fmtTime(asOf, false) })
    : t("insights2.fleet.unknown");
  const towns = rows.filter((r) => r.dim === "township");
  const series = [["devices", "monthly.col.devices"], ["online", "monthly.col.online"],
    ["low_battery", "monthly.col.low_battery"], ["silent_day", "monthly.col.silent_day"]];
  chart($("fleet-chart"), t("insights2.fleet.chart"), towns.map(placeName),
    series.map(([key, label]) => ({ label: t(label), values: towns.map((r) => r[key]) })),
    { x: t("insights.dim.township"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } });
  table($("fleet-table"), "fleet", [townCol, count("monthly.col.registered", "residents"),
    count("monthly.col.covered", "covered"), share("monthly.col.covered_share", "covered_share"),
    count("monthly.col.devices", "devices"), count("monthly.col.online", "online"),
    share("monthly.col.online_share", "online_share"), count("monthly.col.low_battery", "low_battery"),
    count("monthly.col.silent_day", "silent_day")], rows);
}

function showDisasters(rows) {
  const totals = rows.filter((r) => r.dim === "all");
  const label = (r) => `${r.event_id} ${t(`stage.${r.stage}`)}`;
  chart($("disasters-chart"), t("insights2.disasters.chart"), totals.map(label),
    [{ label: t("indicator.affected_population"), values: totals.map((r) => r.affected_population) },
      { label: t("indicator.emergency_relocated"), values: totals.map((r) => r.emergency_relocated) }],
    { x: t("monthly.col.event"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } });
  table($("disasters-table"), "disasters", [
    Object.assign(col("monthly.col.event", (r) => r.event_id), { data: () => true }),
    col("monthly.col.hazard", (r) => word("insights2.hazard.", r.hazard || "")),
    col("monthly.col.report_stage", (r) => t(`stage.${r.stage}`)), townCol,
    count("monthly.col.villages", "villages"),
    ...INDICATORS.map((k) => col(`indicator.${k}`, (r) => r[k], (r) => (Number.isInteger(r[k]) ? r[k] : decimal(r[k])), true)),
  ], rows.slice().sort((a, b) => a.event_id.localeCompare(b.event_id)
    || REPORT_STAGES.indexOf(a.stage) - REPORT_STAGES.indexOf(b.stage)));
}

function showEvacuation(rows) {
  const towns = rows.filter((r) => r.dim === "township");
  const states = ["open", "contacted", "confirmed_safe", "relocated", "unreachable"];
  chart($("evacuation-chart"), t("insights2.evacuation.chart"), towns.map((r) => `${r.warning_id} ${placeName(r)}`),
    states.map((s) => ({ label: t(`monthly.col.${s}`), values: towns.map((r) => r[s]) })),
    { x: t("insights.dim.township"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } });
  table($("evacuation-table"), "evacuation", [
    Object.assign(col("monthly.col.warning", (r) => r.warning_id), { data: () => true }), townCol,
    count("monthly.col.tasks", "tasks"), count("monthly.col.evacuate", "evacuate"),
    ...states.map((s) => count(`monthly.col.${s}`, s)), share("monthly.col.done_share", "done_share"),
  ], rows);
}

function showRelief(rows) {
  const items = rows.filter((r) => r.dim === "all");
  chart($("relief-chart"), t("insights2.relief.chart"), items.map((r) => word("insights2.item.", r.item)),
    [{ label: t("monthly.col.planned"), values: items.map((r) => r.planned) },
      { label: t("monthly.col.received"), values: items.map((r) => r.received) }],
    { x: t("monthly.col.relief_item"), bars: true, y: { range: (_, lo, hi) => [0, Math.max(1, hi)] } });
  table($("relief-table"), "relief", [
    Object.assign(col("monthly.col.plan", (r) => r.plan_id), { data: () => true }),
    col("monthly.col.relief_item", (r) => word("insights2.item.", r.item)), townCol,
    col("monthly.col.planned", (r) => r.planned, (r) => decimal(r.planned), true),
    col("monthly.col.received", (r) => r.received, (r) => decimal(r.received), true),
    share("monthly.col.received_share", "received_share"),
    count("monthly.col.villages", "villages"), count("monthly.col.villages_received", "villages_received"),
  ], rows);
}

// Called by insights.js's show() with the whole report
function showInsights2(report) {
  showServices(report.services); showSubsidy(report.subsidy); showFleet(report.fleet, report.fleet_as_of);
  showDisasters(report.disaster_reports); showEvacuation(report.evacuation); showRelief(report.relief);
}
