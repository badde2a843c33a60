"""Benchmark: the bureau's statistics over a county's year, DuckDB (the hub's engine) next to pandas in the same run.

Method: a seeded community of `--residents` households (default 10,000, in 60 villages) registered in a fresh SQLite
state database, and one year of past incidents written as the hub writes them (`hub/demo_history.py`: about 10 a
resident a year, so ~100,000 incidents with their alerts and their lifecycle in the chained audit log). The period's
tables are read once as Arrow (ADBC, `dispatch/insights/source.py`: timed as "read"); then each statistic is timed,
best of `--repeat`, as DuckDB SQL (`dispatch/insights/figures.py`) and as the same figure written with pandas over the
same Arrow tables; both answers are compared (medians, p90s, shares, counts). The joins every figure starts from
(each incident with its township, device and first detector; each service order with its place, completion and
rating) are timed apart, for both.
Issue 19's second slice adds about 5 service orders a resident a year (~50,000) with completions and call-backs, a
storm (reports, evacuation tasks, a relief plan) and the fleet's readings at the demo's rates (`bench/insights_more.py`:
~8.5 M a day for 80,000 devices) in the embedded telemetry store: the fleet's last readings are timed as "fleet read"
(DuckDB over the store's file; pandas over the same rows already in memory).
Finally the whole report as the API computes it (read + fleet read + every figure) is timed. The load average is
printed at the start and the end: the machine is shared, and the times grow with it.

Run from the repository root: .venv/bin/python -m bench.insights [--residents 10000] [--days 365] [--fleet-days 2]
[--repeat 3]
Prints one line per statistic (DuckDB ms, pandas ms, pandas/DuckDB); the last line is JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from bench import insights_more as more
from devices.registry import Registry
from devices.statedb.sqlite import StateDB
from dispatch.insights import figures, source
from dispatch.insights.engine import (
    DEFAULT_TARGETS,
    Insights,
    Period,
    fleet_params,
    prepare_incidents,
    prepare_orders,
    timeouts_table,
)
from hub.demo_history import DAY_S, past_incidents, write_history
from ingest.store.duckdb_store import DuckDBStore
from simulators.community import Community, build_community

M = figures.MEAN_MONTH_DAYS
LOCAL = figures.LOCAL_OFFSET_S


CPU_MS: dict[int, float] = {}  # id of a timed call's answer -> the CPU time of its best run (every thread)


def best_ms(fn: Callable[[], Any], repeat: int) -> tuple[Any, float]:
    """The answer and the best wall time of `repeat` calls, in ms (the CPU time of that run in `CPU_MS`: on a machine
    shared with other jobs the wall time also counts the waiting for a core)."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = (time.perf_counter() - t0) * 1000
        if wall < best:
            best, cpu = wall, (time.process_time() - c0) * 1000
    CPU_MS[id(out)] = cpu
    return out, best


# ---- pandas: the same figures, vectorised, over the same Arrow tables -------------------------------------------
def pd_facts(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Incidents with their township, device kind, wear position, first detector and local opening time."""
    v = t["villages"]
    v = v.assign(township_code=np.where(v["code"].fillna("") != "", v["code"].str[:9], v["township"]))
    places = t["homes"].merge(v[["village_id", "township_code", "township"]], on="village_id")
    inc = t["incidents"].merge(t["residents"].rename(columns={"home_id": "r_home"}), on="resident_id", how="left")
    inc["place"] = inc["home_id"].fillna(inc["r_home"])
    inc = inc.merge(places.rename(columns={"home_id": "place"}), on="place", how="left")
    dev = t["devices"].rename(columns={"kind": "device_kind"})
    inc = inc.merge(dev, on="device_id", how="left")
    first = t["alerts"].sort_values("id").groupby("incident_id", as_index=False)["detector"].first()
    inc = inc.merge(first.rename(columns={"incident_id": "id"}), on="id", how="left")
    inc["local_at"] = pd.to_datetime(inc["opened_at"] + LOCAL, unit="s")
    return inc


def pd_response(f: pd.DataFrame, t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Median, p90 and share inside the target per stage, overall and per week, township and severity."""
    s = t["stages"].groupby(["incident_id", "action"], as_index=False)["ts"].min()
    s = s.merge(f[["id", "opened_at"]], left_on="incident_id", right_on="id")
    parts = [pd.DataFrame({"id": f["id"], "stage": "ack", "seconds": f["acked_at"] - f["opened_at"]}),
             pd.DataFrame({"id": f["id"], "stage": "dispatch", "seconds": f["dispatched_at"] - f["opened_at"]}),
             pd.DataFrame({"id": s["id"], "stage": s["action"], "seconds": s["ts"] - s["opened_at"]})]  # fmt: skip
    st = pd.concat(parts).dropna(subset=["seconds"])
    iso = f["local_at"].dt.isocalendar()
    f = f.assign(week=iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2))
    st = st.merge(f[["id", "severity", "township_code", "week"]], on="id")
    targets = pd.DataFrame([(k, sev, v) for k, per in DEFAULT_TARGETS.items() for sev, v in per.items()],
                           columns=["stage", "severity", "target_s"])  # fmt: skip
    st = st.merge(targets, on=["stage", "severity"], how="left")
    st["within"] = np.where(st["target_s"].isna(), np.nan, (st["seconds"] <= st["target_s"]).astype(float))
    out = []
    for dim in (None, "week", "township_code", "severity"):
        keys = ["stage"] if dim is None else ["stage", dim]
        g = st.groupby(keys)
        agg = pd.DataFrame({"n": g["seconds"].size(), "median_s": g["seconds"].median(),
                            "p90_s": g["seconds"].quantile(0.9), "within_share": g["within"].mean()}).reset_index()
        out.append(agg.assign(dim="all" if dim is None else dim.replace("_code", ""),
                              key="" if dim is None else agg[dim]))  # fmt: skip
    return pd.concat(out)[["dim", "key", "stage", "n", "median_s", "p90_s", "within_share"]]


def pd_false_alarms(f: pd.DataFrame) -> pd.DataFrame:
    """Closed incidents and the false-alarm share per detector, incident kind, device kind and wear position."""
    closed = f[f["outcome"].notna()].assign(false=lambda d: d["outcome"] == "false_alarm")
    total = {"dim": ["all"], "key": [""], "closed": [len(closed)], "false_alarms": [closed["false"].sum()]}
    out = [pd.DataFrame(total)]
    for dim in ("detector", "kind", "device_kind", "worn_at"):
        g = closed.groupby(dim, dropna=False)["false"].agg(["size", "sum"]).reset_index()
        out.append(pd.DataFrame({"dim": dim, "key": g[dim].fillna(""), "closed": g["size"], "false_alarms": g["sum"]}))
    df = pd.concat(out)
    return df.assign(share=df["false_alarms"] / df["closed"])


def pd_alert_rate(f: pd.DataFrame, t: dict[str, pd.DataFrame], days: float) -> pd.DataFrame:
    """Alerts per resident and mean month, per township."""
    a = t["alerts"].merge(f[["id", "township_code"]], left_on="incident_id", right_on="id")
    alerts = a.groupby("township_code").size()
    v = t["villages"]
    v = v.assign(township_code=np.where(v["code"].fillna("") != "", v["code"].str[:9], v["township"]))
    res = t["residents"].merge(t["homes"], on="home_id").merge(v, on="village_id")
    residents = res.groupby("township_code").size()
    df = pd.DataFrame({"alerts": alerts, "residents": residents}).fillna(0)
    return df.assign(per_resident_month=df["alerts"] / (df["residents"] * days / M))


def pd_heatmap(f: pd.DataFrame, t: dict[str, pd.DataFrame]) -> pd.Series:
    """Alerts per local weekday (1 Monday) and hour, every cell."""
    a = t["alerts"][t["alerts"]["incident_id"].isin(f["id"])]
    local = pd.to_datetime(a["received_at"] + LOCAL, unit="s")
    cells = pd.DataFrame({"weekday": local.dt.day_of_week + 1, "hour": local.dt.hour})
    counts = cells.groupby(["weekday", "hour"]).size()
    grid = pd.MultiIndex.from_product([range(1, 8), range(24)], names=["weekday", "hour"])
    return counts.reindex(grid, fill_value=0)


# ---- the run -----------------------------------------------------------------------------------------------------
def build(folder: Path, residents: int, days: int, end: float) -> tuple[StateDB, Community, int, int]:
    """A registered community, its `days` of past incidents, service orders and a storm; returns the database, the
    community, the incident count and the order count."""
    db = StateDB(folder / "state.sqlite")
    community = build_community(residents, terminals=0, villages=60, seed=7)
    community.register(Registry(db))
    incidents = past_incidents(community, end - days * DAY_S, days)
    write_history(db, incidents)
    orders = more.write_services_and_storm(db, community, end - days * DAY_S, days, end)
    return db, community, len(incidents), orders


def duck_connection(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """A DuckDB with the tables, the targets and an empty scope, as the engine prepares it (before the joins)."""
    con = duckdb.connect()
    source.load(con, tables)
    con.register("targets", pa.table({"stage": [s for s, p in DEFAULT_TARGETS.items() for _ in p],
                                      "severity": [v for p in DEFAULT_TARGETS.values() for v in p],
                                      "target_s": [float(x) for p in DEFAULT_TARGETS.values() for x in p.values()]}))
    con.register("scope", pa.table({"township": pa.array([], pa.string())}))
    con.register("timeouts", timeouts_table())
    return con


def agree(duck: list[tuple[Any, ...]], pand: pd.DataFrame, cols: list[str]) -> bool:
    """Both engines' rows equal (floats to 1e-6) once sorted by their keys."""
    d = pd.DataFrame(duck, columns=cols).sort_values(cols[:3]).reset_index(drop=True)
    p = pand[cols].sort_values(cols[:3]).reset_index(drop=True)
    return len(d) == len(p) and all(np.allclose(d[c].astype(float), p[c].astype(float), equal_nan=True)
                                    for c in cols[3:])  # fmt: skip


def line(name: str, duck_ms: float, pandas_ms: float, note: str = "", cpu: tuple[float, float] | None = None) -> None:
    """One statistic's times and their ratio (and the CPU times of both, when given)."""
    used = f"   CPU {cpu[0]:7.1f} / {cpu[1]:7.1f} ms" if cpu else ""
    print(f"{name:17s} DuckDB {duck_ms:8.1f} ms   pandas {pandas_ms:8.1f} ms   pandas/DuckDB "
          f"{pandas_ms / duck_ms:6.2f}{used}{note}")


def timed(result: dict[str, Any], name: str, duck: tuple[Any, float], pand: tuple[Any, float], note: str = "") -> None:
    """Print and record one statistic's wall and CPU times, DuckDB next to pandas."""
    cpu = (CPU_MS.get(id(duck[0]), 0.0), CPU_MS.get(id(pand[0]), 0.0))
    line(name, duck[1], pand[1], note, cpu)
    result[name] = {"duckdb_ms": round(duck[1], 1), "pandas_ms": round(pand[1], 1),
                    "pandas_over_duckdb": round(pand[1] / duck[1], 2), "duckdb_cpu_ms": round(cpu[0], 1),
                    "pandas_cpu_ms": round(cpu[1], 1)}  # fmt: skip


def sorted_frame(rows: list[tuple[Any, ...]] | pd.DataFrame, cols: list[str], keys: list[str]) -> pd.DataFrame:
    """Rows as a frame of `cols`, keys as text (None and NaN as ""), sorted by the keys."""
    d = rows[cols].copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=cols)
    for k in keys:
        d[k] = d[k].fillna("").astype(str)
    return d.sort_values(keys).reset_index(drop=True)


def same(duck: pd.DataFrame, pand: pd.DataFrame, keys: list[str]) -> bool:
    """Both engines' rows equal (floats to 1e-6, NaN = NaN) once sorted by their keys."""
    if len(duck) != len(pand) or not (duck[keys].to_numpy() == pand[keys].to_numpy()).all():
        return False
    return all(np.allclose(duck[c].astype(float), pand[c].astype(float), equal_nan=True)
               for c in duck.columns if c not in keys)  # fmt: skip


def main() -> None:
    """Build the year, time every statistic with DuckDB and pandas, print both."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--residents", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--fleet-days", type=float, default=2.0, help="days of readings at the demo's rates")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--reuse", type=Path, help="the folder of an earlier run with the same options: time it again")
    args = ap.parse_args()
    folder = args.reuse or Path(tempfile.mkdtemp(prefix="bench-insights-"))
    today = dt.date(2026, 12, 1)
    end = dt.datetime.combine(today, dt.time(), dt.timezone(dt.timedelta(hours=8))).timestamp()
    t0 = time.perf_counter()
    if args.reuse:
        db = StateDB(folder / "state.sqlite")
        community = build_community(args.residents, terminals=0, villages=60, seed=7)
        count = int(db.execute("SELECT count(*) AS n FROM incidents WHERE kind <> 'service_request'")[0]["n"])
        orders = int(db.execute("SELECT count(*) AS n FROM service_orders")[0]["n"])
        readings = more.fleet_readings(community, end, args.fleet_days)  # the same seed: the same readings
    else:
        db, community, count, orders = build(folder, args.residents, args.days, end)
        readings = more.fleet_readings(community, end, args.fleet_days)
        more.write_readings(folder / "telemetry.duckdb", readings)
    store = DuckDBStore(folder / "telemetry.duckdb", memory_limit_mb=2048)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other jobs share the machine)")
    print(f"built {args.residents} residents, {count} incidents, {orders} service orders over {args.days} days and "
          f"{len(readings):,} readings of {len(community.devices):,} devices over {args.fleet_days:g} days in "
          f"{time.perf_counter() - t0:.1f} s ({folder})")
    period = Period(today - dt.timedelta(days=args.days), today - dt.timedelta(days=1))
    window = period.window()
    as_of = window.end
    tables, read_ms = best_ms(lambda: source.fetch(db, window), args.repeat)
    frames = {k: v.to_pandas() for k, v in tables.items()}
    result: dict[str, Any] = {"residents": args.residents, "incidents": count, "orders": orders,
                              "readings": len(readings), "days": args.days, "read_ms": round(read_ms, 1)}  # fmt: skip
    print(f"read (ADBC -> Arrow, {sum(t.num_rows for t in tables.values())} rows): {read_ms:8.1f} ms")
    since = as_of - source.FLEET_LOOKBACK_S
    status_run = best_ms(lambda: store.device_status(since, as_of), args.repeat)
    pd_status_run = best_ms(lambda: more.pd_device_status(readings, since, as_of), args.repeat)
    status, pd_status = status_run[0], pd_status_run[0]
    timed(result, "fleet_read", status_run, pd_status_run, f"   (last reading and battery of each device in the day"
          f" before the end, of {len(readings):,} rows; DuckDB over the store's file, pandas over the rows in memory)")
    tables["fleet"] = status
    con = duck_connection(tables)
    facts_run = best_ms(lambda: pd_facts(frames), args.repeat)
    order_facts_run = best_ms(lambda: more.pd_order_facts(frames), args.repeat)
    facts, order_facts = facts_run[0], order_facts_run[0]
    days = float(period.days)
    joins_run = best_ms(lambda: prepare_incidents(con) or [], args.repeat)
    order_joins_run = best_ms(lambda: prepare_orders(con) or [], args.repeat)
    timed(result, "joins", joins_run, facts_run, "   (incidents with place, device, first detector)")
    timed(result, "order_joins", order_joins_run, order_facts_run, "   (orders with place, completion, rating)")
    bounds = {"start": window.start, "end": window.end}
    runs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "response": (lambda: con.execute(figures.RESPONSE).fetchall(), lambda: pd_response(facts, frames)),
        "false_alarms": (lambda: con.execute(figures.FALSE_ALARMS).fetchall(), lambda: pd_false_alarms(facts)),
        "alert_rate": (lambda: con.execute(figures.ALERT_RATE, {"days": days}).fetchall(),
                       lambda: pd_alert_rate(facts, frames, days)),
        "heatmap": (lambda: con.execute(figures.HEATMAP).fetchall(), lambda: pd_heatmap(facts, frames)),
        "services": (lambda: con.sql(figures.SERVICES).to_df(), lambda: more.pd_services(order_facts)),
        "subsidy": (lambda: con.sql(figures.SUBSIDY, params=bounds).to_df(),
                    lambda: more.pd_subsidy(frames, window.start, window.end)),
        "fleet": (lambda: con.sql(figures.FLEET, params=fleet_params(as_of, True)).to_df(),
                  lambda: more.pd_fleet(frames, pd_status, as_of)),
        "disaster_reports": (lambda: con.sql(figures.DISASTER_REPORTS).to_df(),
                             lambda: more.pd_disaster_reports(frames)),
        "evacuation": (lambda: con.sql(figures.EVACUATION).to_df(), lambda: more.pd_evacuation(frames)),
        "relief": (lambda: con.sql(figures.RELIEF).to_df(), lambda: more.pd_relief(frames)),
    }
    answers: dict[str, tuple[Any, Any]] = {}
    for name, (duck_fn, pandas_fn) in runs.items():
        duck_run = best_ms(duck_fn, args.repeat)
        pandas_run = best_ms(pandas_fn, args.repeat)
        answers[name] = (duck_run[0], pandas_run[0])
        timed(result, name, duck_run, pandas_run)
    duck_resp = [(*r[:2], r[3], *r[4:7], r[8]) for r in answers["response"][0]]  # dim key stage n med p90 share
    resp_cols = ["dim", "key", "stage", "n", "median_s", "p90_s", "within_share"]
    result["agree"] = {
        "response": agree(duck_resp, answers["response"][1], resp_cols),
        "false_alarms": agree(answers["false_alarms"][0], answers["false_alarms"][1],
                              ["dim", "key", "closed", "false_alarms", "share"]),
        "alert_rate": agree([(*r[:2], "", r[3], r[4], r[6]) for r in answers["alert_rate"][0] if r[0] == "township"],
                            answers["alert_rate"][1].reset_index(names="key").assign(dim="township", stage=""),
                            ["dim", "key", "stage", "alerts", "residents", "per_resident_month"]),
        "heatmap": [r[2] for r in answers["heatmap"][0]] == answers["heatmap"][1].tolist(),
    }
    compare = {
        "services": (["dim", "service", "provider", "township_code"],
                     ["orders", "completed", "completed_share", "completion_median_s", "completion_p90_s", "rated",
                      "satisfaction", "satisfied_share"]),
        "subsidy": (["dim", "key"], ["services", "residents", "price_cny", "subsidy_cny", "copay_cny"]),
        "disaster_reports": (["event_id", "stage", "key"], ["villages", *figures.INDICATORS]),
        "evacuation": (["warning_id", "key"], ["tasks", "confirmed_safe", "relocated", "done_share"]),
        "relief": (["plan_id", "item", "key"], ["planned", "received"]),
    }
    for name, (keys, values) in compare.items():
        duck, pand = answers[name]
        if name == "evacuation":
            pand = pand.rename(columns={"township_code": "key"})
        result["agree"][name] = same(sorted_frame(duck, keys + values, keys), sorted_frame(pand, keys + values, keys),
                                     keys)  # fmt: skip
    fleet_cols = ["key", "residents", "covered", "devices", "online", "low_battery", "silent_day"]
    result["agree"]["fleet"] = same(sorted_frame(answers["fleet"][0], fleet_cols, ["key"]),
                                    sorted_frame(answers["fleet"][1], fleet_cols, ["key"]), ["key"])  # fmt: skip
    result["agree"]["fleet_read"] = same(
        sorted_frame(status.to_pandas(), ["device_id", "last_seen", "battery"], ["device_id"]),
        sorted_frame(pd_status, ["device_id", "last_seen", "battery"], ["device_id"]), ["device_id"])
    print(f"answers agree (DuckDB and pandas, {len(facts)} incidents, {len(order_facts)} orders): {result['agree']}")
    engine = Insights(db, store=store, clock=lambda: as_of)
    report_run = best_ms(lambda: engine.compute(period), args.repeat)
    whole_ms = report_run[1]
    print(f"whole report as the API computes it (read + fleet read + every figure): {whole_ms:8.1f} ms"
          f" (CPU {CPU_MS.get(id(report_run[0]), 0.0):.1f} ms)")
    result["report_ms"] = round(whole_ms, 1)
    result["load_average"] = round(os.getloadavg()[0], 1)
    print(f"load average {result['load_average']} at the end")
    con.close()
    store.close()
    db.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
