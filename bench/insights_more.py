"""The second half of `bench.insights` (issue 19): a county's year of service orders, a storm and a fleet's readings
at the demo's rates, and the services, subsidy, fleet and disaster figures written with pandas, to time and compare
with the engine's DuckDB SQL (dispatch/insights/figures.py) in the same run.

The fleet's readings: every wearable every `WEARABLE_PERIOD_S` (120 s) and every home sensor hourly with its battery
(simulators/community_render.py), for the last `days` days before the period's end, written straight into the
embedded telemetry store's DuckDB file as Arrow (the store's own table); 3 % of the wearables report a low battery,
5 % fell silent two days before the end and 5 % three hours before it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from alerts.care.device_health import DEFAULT_TIMEOUTS_S, DeviceHealthSettings
from devices.statedb.sqlite import StateDB
from dispatch.insights.figures import INDICATORS
from dispatch.responders import ResponderRegistry
from hub.demo_history_services import past_orders, write_orders
from hub.demo_history_storm import write_storm
from hub.demo_seed import demo_responders
from ingest.store.base import METRICS
from ingest.store.duckdb_store import DDL as READINGS_DDL
from simulators.community import Community
from simulators.community_render import WEARABLE_PERIOD_S

DAY_S = 86400.0
HEALTH = DeviceHealthSettings()


# ---- the history ---------------------------------------------------------------------------------------------------
def write_services_and_storm(db: StateDB, community: Community, start: float, days: int, end: float) -> int:
    """The providers, `days` of orders from `start` (about 5 a resident a year) and a storm three weeks before
    `end`; returns the number of orders."""
    providers = [r for r in demo_responders(community) if r.kind == "provider"]
    registry = ResponderRegistry(db)
    for p in providers:
        registry.add(p, replace=True)
    orders = past_orders(community, providers, start, days)
    write_orders(db, orders)
    write_storm(db, community, end - 21 * DAY_S, end)
    return len(orders)


def fleet_readings(community: Community, end: float, days: float, seed: int = 5) -> pd.DataFrame:
    """Device index, ts and battery (NaN: none sent) of every reading of the last `days` before `end`, in time order;
    `attrs["devices"]` holds the device ids the indices point to."""
    rng = np.random.default_rng(seed)
    ids = [d.device_id for d in community.devices]
    wearable = np.array([d.family == "wearable" for d in community.devices])
    n = len(ids)
    start = end - days * DAY_S
    stop = np.full(n, end)  # a device's last moment of reporting
    fate = rng.random(n)
    stop[wearable & (fate < 0.05)] = end - 2 * DAY_S
    stop[wearable & (fate >= 0.05) & (fate < 0.10)] = end - 3 * 3600
    low = wearable & (rng.random(n) < 0.03)
    parts = []
    for mask, period in ((wearable, WEARABLE_PERIOD_S), (~wearable, 3600.0)):
        which = np.flatnonzero(mask)
        phase = rng.uniform(0, period, which.size)
        steps = int(days * DAY_S / period)
        ts = (start + phase[:, None] + period * np.arange(steps)[None, :]).ravel()
        device = np.repeat(which, steps)
        keep = ts <= np.repeat(stop[which], steps)
        battery = np.where(low[device], rng.uniform(5, 14, device.size), rng.uniform(30, 100, device.size))
        if period == WEARABLE_PERIOD_S:  # a wearable's vitals messages carry its battery one in ten
            battery[rng.random(device.size) >= 0.1] = np.nan
        parts.append(pd.DataFrame({"device": device[keep].astype(np.int32), "ts": ts[keep], "battery": battery[keep]}))
    frame = pd.concat(parts, ignore_index=True).sort_values("ts", kind="stable", ignore_index=True)
    frame.attrs["devices"] = ids
    frame.attrs["families"] = [d.family for d in community.devices]
    return frame


def write_readings(path: Path, readings: pd.DataFrame) -> None:
    """The readings into the telemetry store's table (as the store writes a batch: one Arrow insert)."""
    ids = pa.array(readings.attrs["devices"], pa.string())
    families = pa.array(readings.attrs["families"], pa.string())
    index = pa.array(readings["device"].to_numpy())
    columns: dict[str, Any] = {
        "device_id": pa.DictionaryArray.from_arrays(index, ids),
        "family": pa.DictionaryArray.from_arrays(index, families),
        "ts": pa.array(readings["ts"].to_numpy()), "seq": pa.array(np.arange(len(readings), dtype=np.int64)),
    }  # fmt: skip
    for m in METRICS:
        columns[m] = pa.array(readings["battery"].to_numpy(), from_pandas=True) if m == "battery" \
            else pa.nulls(len(readings), pa.float64())  # fmt: skip
    batch = pa.table(columns)  # noqa: F841 - named in the SQL
    with duckdb.connect(str(path)) as con:
        con.execute(READINGS_DDL)
        con.execute("INSERT INTO readings SELECT device_id::VARCHAR, family::VARCHAR, * EXCLUDE (device_id, family)"
                    " FROM batch")


# ---- pandas: the same figures over the same Arrow tables ------------------------------------------------------------
def _townships(t: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Homes and villages with their township key and name."""
    v = t["villages"]
    v = v.assign(township_code=np.where(v["code"].fillna("") != "", v["code"].str[:9], v["township"]),
                 township_name=v["township"])  # fmt: skip
    homes = t["homes"].merge(v[["village_id", "township_code", "township_name"]], on="village_id")
    return homes, v[["village_id", "township_code", "township_name"]]


def pd_order_facts(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Each order with its place, completion, provider and last call-back rating."""
    homes, _ = _townships(t)
    o = t["orders"].merge(t["residents"].rename(columns={"home_id": "r_home"}), on="resident_id", how="left")
    o["place"] = o["home_id"].fillna(o["r_home"])
    o = o.merge(homes.rename(columns={"home_id": "place"}), on="place", how="left")
    c = t["completions"][["incident_id", "responder_id", "done_at"]].rename(columns={"responder_id": "done_by"})
    o = o.merge(c, on="incident_id", how="left")
    o["provider"] = o["done_by"].fillna(o["responder_id"]).fillna("")
    o["completion_s"] = o["done_at"] - o["requested_at"]
    b = t["callbacks"].sort_values("done_at").groupby("about_incident", as_index=False)["satisfaction"].last()
    return o.merge(b.rename(columns={"about_incident": "incident_id"}), on="incident_id", how="left")


def pd_services(o: pd.DataFrame) -> pd.DataFrame:
    """Orders, completed share, time to completion and satisfaction overall, per service, provider, both, township."""
    o = o.assign(done=o["done_at"].notna(), happy=np.where(o["satisfaction"].isna(), np.nan, o["satisfaction"] >= 4))
    out = []
    for dim, keys in (("all", []), ("service", ["service"]), ("provider", ["provider"]),
                      ("service_provider", ["service", "provider"]), ("township", ["township_code"])):  # fmt: skip
        g = o.assign(_all=0).groupby(keys or ["_all"], dropna=False)
        agg = pd.DataFrame({"orders": g.size(), "completed": g["done"].sum(),
                            "completion_median_s": g["completion_s"].median(),
                            "completion_p90_s": g["completion_s"].quantile(0.9), "rated": g["satisfaction"].count(),
                            "satisfaction": g["satisfaction"].mean(), "satisfied_share": g["happy"].mean()})
        agg = agg.reset_index().assign(dim=dim)
        out.append(agg)
    df = pd.concat(out, ignore_index=True)
    df["completed_share"] = df["completed"] / df["orders"]
    for k in ("service", "provider", "township_code"):
        df[k] = df[k].fillna("") if k in df else ""
    return df


def pd_subsidy(t: dict[str, pd.DataFrame], start: float, end: float) -> pd.DataFrame:
    """Completions done in [start, end) per category, per township and overall: services, residents, money."""
    homes, _ = _townships(t)
    c = t["completions"]
    c = c[(c["done_at"] >= start) & (c["done_at"] < end)]
    c = c.merge(t["residents"].rename(columns={"home_id": "r_home"}), on="resident_id", how="left")
    c = c.assign(place=c["home_id"].fillna(c["r_home"])).merge(homes.rename(columns={"home_id": "place"}),
                                                                 on="place", how="left")  # fmt: skip
    out = []
    for dim, key in (("all", None), ("category", "category"), ("township", "township_code")):
        g = c.assign(_all="").groupby(key or "_all")
        agg = pd.DataFrame({"services": g.size(), "residents": g["resident_id"].nunique(),
                            "price_cny": g["price_cny"].sum(), "subsidy_cny": g["subsidy_cny"].sum(),
                            "copay_cny": g["copay_cny"].sum()})
        out.append(agg.reset_index(names="key").assign(dim=dim))
    return pd.concat(out, ignore_index=True)


def pd_device_status(readings: pd.DataFrame, since: float, until: float) -> pd.DataFrame:
    """Each device's newest ts and newest battery in [since, until] (the store's `device_status`, in pandas)."""
    r = readings[(readings["ts"] >= since) & (readings["ts"] <= until)]
    seen = r.groupby("device")["ts"].max()
    battery = r[r["battery"].notna()].groupby("device")["battery"].last()  # in time order: the newest
    ids = np.array(readings.attrs["devices"], dtype=object)
    return pd.DataFrame({"device_id": ids[seen.index], "last_seen": seen.to_numpy(),
                         "battery": battery.reindex(seen.index).to_numpy()})  # fmt: skip


def pd_fleet(t: dict[str, pd.DataFrame], status: pd.DataFrame, as_of: float) -> pd.DataFrame:
    """Per township and overall: residents, covered, devices, online, low battery, silent for a day."""
    homes, villages = _townships(t)
    d = t["devices"][t["devices"]["active"] == 1].astype({"village_id": object, "home_id": object,
                                                          "resident_id": object})  # all null: no type from SQLite
    d = d.merge(t["residents"][["resident_id", "home_id"]].rename(columns={"home_id": "r_home"}), on="resident_id",
                how="left")  # fmt: skip
    d = d.assign(place=d["home_id"].fillna(d["r_home"])).merge(
        homes[["home_id", "township_code"]].rename(columns={"home_id": "place"}), on="place", how="left")
    d = d.merge(villages[["village_id", "township_code"]].rename(columns={"township_code": "v_town"}),
                on="village_id", how="left")  # fmt: skip
    d["township"] = d["township_code"].fillna(d["v_town"])
    d = d[d["township"].notna()].merge(status, on="device_id", how="left")
    timeout = d["kind"].map({str(k): v for k, v in DEFAULT_TIMEOUTS_S.items()}).fillna(HEALTH.default_timeout_s)
    age = as_of - d["last_seen"]
    d = d.assign(online=age <= timeout, low=d["battery"] < HEALTH.low_battery_pct, silent=age.isna() | (age > DAY_S))
    r = t["residents"].merge(homes, on="home_id")
    worn = set(t["devices"].loc[t["devices"]["active"] == 1, "resident_id"].dropna())
    homed = set(t["devices"].loc[t["devices"]["active"] == 1, "home_id"].dropna())
    r["covered"] = r["resident_id"].isin(worn) | r["home_id"].isin(homed)
    people = r.groupby("township_code").agg(residents=("resident_id", "size"), covered=("covered", "sum"))
    fleet = d.groupby("township").agg(devices=("device_id", "size"), online=("online", "sum"),
                                      low_battery=("low", "sum"), silent_day=("silent", "sum"))  # fmt: skip
    df = people.join(fleet, how="outer").fillna(0)
    df.loc[""] = df.sum()
    return df.reset_index(names="key")


def pd_disaster_reports(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per event, stage and township (and all): villages and the sums of each village's latest version's indicators."""
    _, villages = _townships(t)
    v = t["report_versions"].sort_values("version").groupby(["event_id", "village_id", "stage"], as_index=False).last()
    values = pd.DataFrame([json.loads(x) for x in v["indicators"]], index=v.index).reindex(columns=list(INDICATORS))
    v = pd.concat([v, values.fillna(0)], axis=1).merge(villages, on="village_id")
    sums = {k: (k, "sum") for k in INDICATORS}
    by_town = v.groupby(["event_id", "stage", "township_code"]).agg(villages=("village_id", "size"), **sums)
    total = v.groupby(["event_id", "stage"]).agg(villages=("village_id", "size"), **sums)
    return pd.concat([by_town.reset_index().rename(columns={"township_code": "key"}),
                      total.reset_index().assign(key="")], ignore_index=True)  # fmt: skip


def pd_evacuation(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per warning and township (and all): tasks by state and the share done."""
    _, villages = _townships(t)
    e = t["evac_tasks"].merge(villages, on="village_id")
    states = pd.crosstab([e["warning_id"], e["township_code"]], e["state"])
    total = pd.crosstab(e["warning_id"], e["state"]).assign(township_code="").set_index("township_code", append=True)
    df = pd.concat([states, total]).fillna(0)
    df["tasks"] = df.sum(axis=1)
    done = df.reindex(columns=["confirmed_safe", "relocated"], fill_value=0).sum(axis=1)
    return df.assign(done_share=done / df["tasks"]).reset_index()


def pd_relief(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per plan, item and township (and all): planned and received quantity."""
    _, villages = _townships(t)
    rows = [(p, s[1], s[2], float(s[3])) for p, body in zip(t["relief_plans"]["plan_id"], t["relief_plans"]["body"],
                                                             strict=True) for s in json.loads(body)["shipments"]]
    lines = pd.DataFrame(rows, columns=["plan_id", "village_id", "item", "quantity"]).merge(villages, on="village_id")
    got = t["relief_receipts"][["plan_id", "village_id"]].assign(received=True)
    lines = lines.merge(got, on=["plan_id", "village_id"], how="left")
    lines["got"] = np.where(lines["received"].fillna(False).astype(bool), lines["quantity"], 0.0)
    by = lines.groupby(["plan_id", "item", "township_code"]).agg(planned=("quantity", "sum"), received=("got", "sum"))
    total = lines.groupby(["plan_id", "item"]).agg(planned=("quantity", "sum"), received=("got", "sum"))
    return pd.concat([by.reset_index().rename(columns={"township_code": "key"}), total.reset_index().assign(key="")])
