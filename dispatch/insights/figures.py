"""The figures as DuckDB SQL over the tables of `dispatch/insights/source.py`.

Times are stored as UTC epoch seconds; weeks, months, hours and weekdays are the users' (Asia/Shanghai, UTC+8 all
year, no daylight saving), so local time is the stored second plus 8 h. Medians and p90s are `quantile_cont`
(linear interpolation between the two nearest values, as numpy's and pandas' default), so a figure can be checked by
hand and against pandas.
"""

from __future__ import annotations

import msgspec

from devices.schemas import ReportIndicators

LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai
MEAN_MONTH_DAYS = 365.2425 / 12  # a resident-month: the Gregorian mean month

# An incident's place: the home it happened in, or its resident's home; a village's township is its official
# 9-digit code where the village has one, else the township's name (hand-registered villages)
PLACES = """
CREATE OR REPLACE TEMP VIEW places AS
SELECT h.home_id, CASE WHEN coalesce(v.code, '') <> '' THEN substr(v.code, 1, 9) ELSE v.township END AS township_code,
       v.township AS township_name
FROM homes h JOIN villages v USING (village_id)
"""

SCOPED_RESIDENTS = """
CREATE OR REPLACE TEMP VIEW scoped_residents AS
SELECT r.resident_id, r.home_id, p.township_code, p.township_name FROM residents r JOIN places p USING (home_id)
WHERE NOT EXISTS (SELECT 1 FROM scope) OR p.township_code IN (SELECT township FROM scope)
   OR p.township_name IN (SELECT township FROM scope)
"""

# Every incident of the scope with its place, device and first detector: computed once (the engine keeps it as an
# Arrow table, which measured faster than a DuckDB temporary table), every figure starts from it
FACTS = f"""
SELECT i.*, p.township_code, p.township_name, d.kind AS device_kind, d.worn_at, fa.detector,
       make_timestamp(CAST(round((i.opened_at + {LOCAL_OFFSET_S}) * 1e6) AS BIGINT)) AS local_at
FROM incidents i
LEFT JOIN residents r ON r.resident_id = i.resident_id
LEFT JOIN places p ON p.home_id = coalesce(i.home_id, r.home_id)
LEFT JOIN devices d ON d.device_id = i.device_id
LEFT JOIN (SELECT incident_id, arg_min(detector, id) AS detector FROM alerts GROUP BY incident_id) fa
       ON fa.incident_id = i.id
WHERE NOT EXISTS (SELECT 1 FROM scope) OR p.township_code IN (SELECT township FROM scope)
   OR p.township_name IN (SELECT township FROM scope)
"""

# The townships a filter can choose from (within the scope)
TOWNSHIPS = """
SELECT DISTINCT township_code AS code, township_name AS name FROM places
WHERE NOT EXISTS (SELECT 1 FROM scope) OR township_code IN (SELECT township FROM scope)
   OR township_name IN (SELECT township FROM scope)
ORDER BY code
"""

# Seconds from the incident's opening to each stage: acknowledged and dispatched from the incident row, on scene and
# resolved from the first lifecycle entry of that name in the audit log
STAGE_TIMES = """
WITH first_stage AS (SELECT incident_id, action, min(ts) AS ts FROM stages GROUP BY incident_id, action),
timed AS (
    SELECT id, 'ack' AS stage, acked_at - opened_at AS seconds FROM facts WHERE acked_at IS NOT NULL
    UNION ALL SELECT id, 'dispatch', dispatched_at - opened_at FROM facts WHERE dispatched_at IS NOT NULL
    UNION ALL SELECT f.id, s.action, s.ts - f.opened_at FROM facts f JOIN first_stage s ON s.incident_id = f.id
)
SELECT t.stage, t.seconds, f.severity, f.township_code, f.township_name, strftime(f.local_at, '%G-W%V') AS week,
       g.target_s, CASE WHEN g.target_s IS NULL THEN NULL ELSE t.seconds <= g.target_s END AS within
FROM timed t JOIN facts f ON f.id = t.id
LEFT JOIN targets g ON g.stage = t.stage AND g.severity = f.severity
"""

RESPONSE = """
SELECT CASE WHEN grouping(week) = 0 THEN 'week' WHEN grouping(township_code) = 0 THEN 'township'
            WHEN grouping(severity) = 0 THEN 'severity' ELSE 'all' END AS dim,
       coalesce(week, township_code, severity, '') AS key,
       CASE WHEN grouping(township_code) = 0 THEN any_value(township_name) END AS label, stage,
       count(*) AS n, quantile_cont(seconds, 0.5) AS median_s, quantile_cont(seconds, 0.9) AS p90_s,
       count(within) AS n_with_target, avg(CAST(within AS INTEGER)) AS within_share,
       CASE WHEN grouping(severity) = 0 THEN any_value(target_s) END AS target_s
FROM stage_times
GROUP BY GROUPING SETS ((stage), (stage, week), (stage, township_code), (stage, severity))
ORDER BY dim, key, stage
"""

FALSE_ALARMS = """
SELECT CASE WHEN grouping(detector) = 0 THEN 'detector' WHEN grouping(kind) = 0 THEN 'kind'
            WHEN grouping(device_kind) = 0 THEN 'device_kind' WHEN grouping(worn_at) = 0 THEN 'worn_at'
            ELSE 'all' END AS dim,
       coalesce(detector, kind, device_kind, worn_at, '') AS key,
       count(*) AS closed, count(*) FILTER (WHERE outcome = 'false_alarm') AS false_alarms,
       count(*) FILTER (WHERE outcome = 'false_alarm') / count(*) AS share
FROM facts WHERE outcome IS NOT NULL
GROUP BY GROUPING SETS ((detector), (kind), (device_kind), (worn_at), ())
ORDER BY dim, key
"""

# Alerts (each one raised, merged into an incident or not) per resident and mean month of the period
ALERT_RATE = f"""
WITH counted AS (
    SELECT grouping(f.township_code) AS total, f.township_code, count(*) AS alerts
    FROM alerts a JOIN facts f ON f.id = a.incident_id GROUP BY GROUPING SETS ((f.township_code), ())
), covered AS (
    SELECT grouping(township_code) AS total, township_code, any_value(township_name) AS township_name,
           count(*) AS residents
    FROM scoped_residents GROUP BY GROUPING SETS ((township_code), ())
)
SELECT CASE WHEN c.total = 1 THEN 'all' ELSE 'township' END AS dim,
       coalesce(c.township_code, '') AS key, CASE WHEN c.total = 0 THEN c.township_name END AS label,
       coalesce(n.alerts, 0) AS alerts,
       c.residents, c.residents * $days / {MEAN_MONTH_DAYS} AS resident_months,
       coalesce(n.alerts, 0) / nullif(c.residents * $days / {MEAN_MONTH_DAYS}, 0) AS per_resident_month
FROM covered c LEFT JOIN counted n ON n.total = c.total AND n.township_code IS NOT DISTINCT FROM c.township_code
ORDER BY dim, key
"""

# Alert volume by local weekday (ISO: 1 Monday .. 7 Sunday) and hour, every cell present
HEATMAP = f"""
WITH local AS (
    SELECT make_timestamp(CAST(round((a.received_at + {LOCAL_OFFSET_S}) * 1e6) AS BIGINT)) AS local_at
    FROM alerts a JOIN facts f ON f.id = a.incident_id
), counted AS (SELECT isodow(local_at) AS weekday, hour(local_at) AS hour, count(*) AS alerts FROM local GROUP BY ALL)
SELECT d.weekday, h.hour, coalesce(c.alerts, 0) AS alerts
FROM range(1, 8) d(weekday) CROSS JOIN range(0, 24) h(hour)
LEFT JOIN counted c ON c.weekday = d.weekday AND c.hour = h.hour
ORDER BY d.weekday, h.hour
"""

# ---- services (issue 19: orders, completion, satisfaction, subsidy) ------------------------------------------------
# A village's township, for what is registered to a village (disaster reports, evacuation tasks, relief, terminals)
VILLAGE_PLACES = """
CREATE OR REPLACE TEMP VIEW village_places AS
SELECT village_id, CASE WHEN coalesce(code, '') <> '' THEN substr(code, 1, 9) ELSE township END AS township_code,
       township AS township_name
FROM villages
WHERE NOT EXISTS (SELECT 1 FROM scope)
   OR (CASE WHEN coalesce(code, '') <> '' THEN substr(code, 1, 9) ELSE township END) IN (SELECT township FROM scope)
   OR township IN (SELECT township FROM scope)
"""

# Each service order of the period (requested in it) with its place, its completion and its call-back rating: the
# provider is the one who completed it, else the one its slot was proposed to; a call-back rated twice counts its
# last rating
ORDER_FACTS = """
SELECT o.incident_id, o.service, o.requested_at, coalesce(c.responder_id, o.responder_id, '') AS provider,
       p.township_code, p.township_name, c.done_at, c.done_at - o.requested_at AS completion_s, b.satisfaction
FROM orders o
LEFT JOIN residents r ON r.resident_id = o.resident_id
LEFT JOIN places p ON p.home_id = coalesce(o.home_id, r.home_id)
LEFT JOIN completions c ON c.incident_id = o.incident_id
LEFT JOIN (SELECT about_incident, arg_max(satisfaction, done_at) AS satisfaction FROM callbacks GROUP BY ALL) b
       ON b.about_incident = o.incident_id
WHERE NOT EXISTS (SELECT 1 FROM scope) OR p.township_code IN (SELECT township FROM scope)
   OR p.township_name IN (SELECT township FROM scope)
"""

SERVICES = """
SELECT CASE WHEN grouping(service) = 0 AND grouping(provider) = 0 THEN 'service_provider'
            WHEN grouping(service) = 0 THEN 'service' WHEN grouping(provider) = 0 THEN 'provider'
            WHEN grouping(township_code) = 0 THEN 'township' ELSE 'all' END AS dim,
       service, provider, CASE WHEN grouping(provider) = 0 THEN any_value(n.name) END AS provider_name, township_code,
       CASE WHEN grouping(township_code) = 0 THEN any_value(township_name) END AS township_name,
       count(*) AS orders, count(done_at) AS completed, count(done_at) / count(*) AS completed_share,
       quantile_cont(completion_s, 0.5) AS completion_median_s, quantile_cont(completion_s, 0.9) AS completion_p90_s,
       count(satisfaction) AS rated, avg(satisfaction) AS satisfaction,
       count(*) FILTER (WHERE satisfaction >= 4) / nullif(count(satisfaction), 0) AS satisfied_share
FROM order_facts f LEFT JOIN responders n ON n.responder_id = f.provider
GROUP BY GROUPING SETS ((), (service), (provider), (service, provider), (township_code))
ORDER BY dim, service NULLS FIRST, provider NULLS FIRST, township_code NULLS FIRST
"""

# Subsidy paid: the completions done in the period (whenever ordered), by the resident category recorded with each
# (dispatch/service_catalogue.py: category_of at completion time) and by township
SUBSIDY = """
WITH done AS (
    SELECT c.*, p.township_code, p.township_name FROM completions c
    LEFT JOIN residents r ON r.resident_id = c.resident_id
    LEFT JOIN places p ON p.home_id = coalesce(c.home_id, r.home_id)
    WHERE c.done_at >= $start AND c.done_at < $end
      AND (NOT EXISTS (SELECT 1 FROM scope) OR p.township_code IN (SELECT township FROM scope)
           OR p.township_name IN (SELECT township FROM scope))
)
SELECT CASE WHEN grouping(category) = 0 THEN 'category' WHEN grouping(township_code) = 0 THEN 'township'
            ELSE 'all' END AS dim,
       coalesce(category, township_code, '') AS key,
       CASE WHEN grouping(township_code) = 0 THEN any_value(township_name) END AS label,
       count(*) AS services, count(DISTINCT resident_id) AS residents, sum(price_cny) AS price_cny,
       sum(subsidy_cny) AS subsidy_cny, sum(copay_cny) AS copay_cny
FROM done GROUP BY GROUPING SETS ((category), (township_code), ())
ORDER BY dim, key
"""

# ---- coverage and fleet, as of a moment ($as_of: the period's end, or now when sooner) ---------------------------
# A device is online when its newest reading is within its class's heartbeat timeout (alerts/care/device_health.py),
# low on battery when its newest battery reading of the last day is below `low_battery_pct`, silent when nothing came
# for more than a day (or never). Without a telemetry store ($telemetry false) those three are unknown (null).
FLEET = """
WITH dev AS (
    SELECT d.device_id, coalesce(p.township_code, vp.township_code) AS township_code,
           coalesce(p.township_name, vp.township_name) AS township_name,
           s.last_seen, s.battery, coalesce(t.timeout_s, $default_timeout_s) AS timeout_s
    FROM devices d
    LEFT JOIN residents r ON r.resident_id = d.resident_id
    LEFT JOIN places p ON p.home_id = coalesce(d.home_id, r.home_id)
    LEFT JOIN village_places vp ON vp.village_id = d.village_id
    LEFT JOIN fleet s ON s.device_id = d.device_id
    LEFT JOIN timeouts t ON t.kind = d.kind
    WHERE d.active = 1 AND coalesce(p.township_code, vp.township_code) IS NOT NULL
      AND (NOT EXISTS (SELECT 1 FROM scope) OR p.township_code IN (SELECT township FROM scope)
           OR p.township_name IN (SELECT township FROM scope) OR (p.home_id IS NULL AND vp.village_id IS NOT NULL))
), covered AS (
    SELECT resident_id FROM scoped_residents
    WHERE resident_id IN (SELECT resident_id FROM devices WHERE active = 1)
       OR home_id IN (SELECT home_id FROM devices WHERE active = 1)
), people AS (
    SELECT grouping(township_code) AS total, township_code, any_value(township_name) AS township_name,
           count(*) AS residents, count(c.resident_id) AS covered
    FROM scoped_residents s LEFT JOIN covered c USING (resident_id)
    GROUP BY GROUPING SETS ((township_code), ())
), fleet_by AS (
    SELECT grouping(township_code) AS total, township_code, any_value(township_name) AS township_name,
           count(*) AS devices,
           count(*) FILTER (WHERE $as_of - last_seen <= timeout_s) AS online,
           count(*) FILTER (WHERE battery < $low_battery_pct) AS low_battery,
           count(*) FILTER (WHERE last_seen IS NULL OR $as_of - last_seen > 86400) AS silent_day
    FROM dev GROUP BY GROUPING SETS ((township_code), ())
)
SELECT CASE WHEN coalesce(p.total, f.total) = 1 THEN 'all' ELSE 'township' END AS dim,
       coalesce(p.township_code, f.township_code, '') AS key,
       CASE WHEN coalesce(p.total, f.total) = 0 THEN coalesce(p.township_name, f.township_name) END AS label,
       coalesce(p.residents, 0) AS residents, coalesce(p.covered, 0) AS covered,
       p.covered / nullif(p.residents, 0) AS covered_share, coalesce(f.devices, 0) AS devices,
       CASE WHEN $telemetry THEN coalesce(f.online, 0) END AS online,
       CASE WHEN $telemetry THEN f.online / nullif(f.devices, 0) END AS online_share,
       CASE WHEN $telemetry THEN coalesce(f.low_battery, 0) END AS low_battery,
       CASE WHEN $telemetry THEN coalesce(f.silent_day, 0) END AS silent_day
FROM people p FULL JOIN fleet_by f ON f.total = p.total AND f.township_code IS NOT DISTINCT FROM p.township_code
ORDER BY dim, key
"""

# ---- disasters: reported indicators by stage, evacuation progress, relief delivered --------------------------------
INDICATORS = tuple(ReportIndicators.__struct_fields__)
# People, rooms: whole numbers; hectares and money: amounts (the survey's types, devices/schemas.py)
_WHOLE = {f.name for f in msgspec.structs.fields(ReportIndicators) if isinstance(f.default, int)}


def _indicator_sum(name: str) -> str:
    total = f"sum(coalesce(CAST(json_extract_string(l.indicators, '$.{name}') AS DOUBLE), 0))"
    return f"CAST({total} AS BIGINT) AS {name}" if name in _WHOLE else f"{total} AS {name}"


# Per event, stage and township: the villages reporting at that stage and the sum of each village's latest version of
# that stage (a 续报 corrects the earlier 续报, not the 初报); events with a report in the period, versions up to
# its end
DISASTER_REPORTS = f"""
WITH latest AS (
    SELECT event_id, village_id, stage, arg_max(indicators, version) AS indicators, max(ts) AS ts
    FROM report_versions GROUP BY ALL
)
SELECT l.event_id, any_value(e.hazard) AS hazard, l.stage,
       CASE WHEN grouping(vp.township_code) = 0 THEN 'township' ELSE 'all' END AS dim,
       coalesce(vp.township_code, '') AS key,
       CASE WHEN grouping(vp.township_code) = 0 THEN any_value(vp.township_name) END AS label,
       count(*) AS villages, max(l.ts) AS last_ts,
       {", ".join(_indicator_sum(k) for k in INDICATORS)}
FROM latest l JOIN village_places vp USING (village_id) LEFT JOIN report_events e USING (event_id)
GROUP BY GROUPING SETS ((l.event_id, l.stage), (l.event_id, l.stage, vp.township_code))
ORDER BY l.event_id, CASE l.stage WHEN 'initial' THEN 1 WHEN 'follow_up' THEN 2 ELSE 3 END, dim, key
"""

# Per warning and township: the evacuation work list's tasks by state (dispatch/disaster/evacuation.py), for the
# warnings whose tasks moved in the period; done = confirmed safe or relocated
EVACUATION = """
SELECT t.warning_id, CASE WHEN grouping(vp.township_code) = 0 THEN 'township' ELSE 'all' END AS dim,
       coalesce(vp.township_code, '') AS key,
       CASE WHEN grouping(vp.township_code) = 0 THEN any_value(vp.township_name) END AS label,
       count(*) AS tasks, count(*) FILTER (WHERE t.kind = 'evacuate') AS evacuate,
       count(*) FILTER (WHERE t.state = 'open') AS open, count(*) FILTER (WHERE t.state = 'contacted') AS contacted,
       count(*) FILTER (WHERE t.state = 'confirmed_safe') AS confirmed_safe,
       count(*) FILTER (WHERE t.state = 'relocated') AS relocated,
       count(*) FILTER (WHERE t.state = 'unreachable') AS unreachable,
       count(*) FILTER (WHERE t.state IN ('confirmed_safe', 'relocated')) / count(*) AS done_share
FROM evac_tasks t JOIN village_places vp USING (village_id)
GROUP BY GROUPING SETS ((t.warning_id), (t.warning_id, vp.township_code))
ORDER BY t.warning_id, dim, key
"""

# Per relief plan approved in the period, item and township: the quantity the plan ships and what reached villages
# that confirmed receipt (relief_receipts), with the villages of each
RELIEF = """
WITH lines AS (
    SELECT p.plan_id, p.approved_at, s->>1 AS village_id, s->>2 AS item, CAST(s->>3 AS DOUBLE) AS quantity
    FROM (SELECT plan_id, approved_at, unnest(CAST(json_extract(body, '$.shipments') AS JSON[])) AS s
          FROM relief_plans) p
), placed AS (
    SELECT l.*, vp.township_code, vp.township_name, r.ts AS received_at
    FROM lines l JOIN village_places vp USING (village_id)
    LEFT JOIN relief_receipts r ON r.plan_id = l.plan_id AND r.village_id = l.village_id
)
SELECT plan_id, any_value(approved_at) AS approved_at, item,
       CASE WHEN grouping(township_code) = 0 THEN 'township' ELSE 'all' END AS dim, coalesce(township_code, '') AS key,
       CASE WHEN grouping(township_code) = 0 THEN any_value(township_name) END AS label,
       sum(quantity) AS planned, coalesce(sum(quantity) FILTER (WHERE received_at IS NOT NULL), 0) AS received,
       coalesce(sum(quantity) FILTER (WHERE received_at IS NOT NULL), 0) / nullif(sum(quantity), 0) AS received_share,
       count(DISTINCT village_id) AS villages, count(DISTINCT village_id) FILTER (WHERE received_at IS NOT NULL)
           AS villages_received
FROM placed GROUP BY GROUPING SETS ((plan_id, item), (plan_id, item, township_code))
ORDER BY plan_id, item, dim, key
"""
