"""The figures as DuckDB SQL over the tables of `dispatch/insights/source.py`.

Times are stored as UTC epoch seconds; weeks, months, hours and weekdays are the users' (Asia/Shanghai, UTC+8 all
year, no daylight saving), so local time is the stored second plus 8 h. Medians and p90s are `quantile_cont`
(linear interpolation between the two nearest values, as numpy's and pandas' default), so a figure can be checked by
hand and against pandas.
"""

from __future__ import annotations

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
SELECT r.resident_id, p.township_code, p.township_name FROM residents r JOIN places p USING (home_id)
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
