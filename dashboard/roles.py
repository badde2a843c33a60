"""The role table (issue 8): per route (method + path template as in the OpenAPI spec), who may call it.

One place for the access policy; `dashboard.guard` enforces it on every route before any handler runs, and a route
without an entry is refused (403), so a new route must be added here. The routers' own `require(...)` checks stay as
a second line and must agree (tests/security/test_openapi_roles.py walks the spec and checks both).

Policy: operators handle incidents and read residents (masked), vitals and the map; supervisors also manage
responders, close incidents, read the audit logs, export health data in bulk (CSV, Parquet, FHIR) and see full
identifiers; commanders run the disaster command actions; admins administer staff accounts and the registry.
The civil-affairs bureau's accounts (`bureau`) only read the statistics (with supervisors and admins): they are not
call-centre staff, so every STAFF route refuses them.
The public CAP feed, health, login and the metrics counters need no session (public warnings are meant to be public).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.auth import ACCOUNT_ROLES, REPORTER, ROLES

SIGNED_IN = frozenset(ACCOUNT_ROLES)
STAFF = frozenset(ROLES) - {"bureau"}
INSIGHTS = frozenset({"supervisor", "admin", "bureau"})  # the bureau's statistics (dashboard/insights_api.py)
REPORTING = STAFF | {REPORTER}  # issue 14: village officers file reports (their own villages only, per handler)
SUPERVISORS = frozenset({"supervisor", "commander", "admin"})
COMMAND = frozenset({"commander", "admin"})
ADMIN = frozenset({"admin"})
HEALTH = "health"  # reads of health data: each authorised call goes to the access log


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may call one route (None: no session needed) and whether calls are written to the access log."""

    roles: frozenset[str] | None
    audit: str = ""


PUBLIC = Rule(None)
POLICY: dict[tuple[str, str], Rule] = {
    # open: health, login, Prometheus counters, the public CAP feed, and the pages (they sign in through /api/login)
    ("GET", "/health"): PUBLIC,
    ("POST", "/api/login"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/cap/alerts.xml"): PUBLIC,
    ("GET", "/cap/alerts/{identifier}.xml"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/live"): PUBLIC,
    ("GET", "/console"): PUBLIC,
    ("GET", "/map"): PUBLIC,
    ("GET", "/map/{name}"): PUBLIC,
    ("GET", "/command"): PUBLIC,  # issue 14: the draft review page
    ("GET", "/command/{name}"): PUBLIC,
    ("GET", "/report"): PUBLIC,  # issue 14: the village officers' report form (signs in through /api/login)
    ("GET", "/report/{name}"): PUBLIC,
    ("GET", "/evacuation"): PUBLIC,  # issue 14: the evacuation work list (signs in through /api/login)
    ("GET", "/evacuation/{name}"): PUBLIC,
    ("GET", "/devices"): PUBLIC,  # the admin page signs in; its API below is admin-only
    ("GET", "/users"): PUBLIC,  # issue 14: the admin's page for reporter accounts' villages (signs in)
    ("GET", "/insights"): PUBLIC,  # the statistics page signs in; its API below is for INSIGHTS
    ("GET", "/api/i18n"): PUBLIC,  # issue 18: the pages' catalogues (the sign-in form is translated too)
    ("GET", "/api/i18n/{lang}"): PUBLIC,
    ("POST", "/api/calls"): PUBLIC,  # the PBX/CTI: its handler checks the CTI token, or a session with CSRF
    ("GET", "/resources"): PUBLIC,  # issue 14: teams and relief (signs in; its API below has roles)
    ("GET", "/escalation"): PUBLIC,  # issue 15: the admins' policy page signs in; its API below has roles
    ("GET", "/api/sms/dlr"): PUBLIC,  # issue 15: Kannel's delivery reports (each message's URL carries a token)
    # any member of staff
    ("WS", "/ws"): Rule(STAFF, HEALTH),
    ("POST", "/api/logout"): Rule(SIGNED_IN),
    ("GET", "/api/me"): Rule(SIGNED_IN),
    ("PUT", "/api/me/language"): Rule(SIGNED_IN),  # issue 18: saved with the account
    # the bureau's statistics: response times, false alarms, alert volume
    ("GET", "/api/insights"): Rule(INSIGHTS),
    ("GET", "/api/insights/monthly"): Rule(INSIGHTS),  # the monthly report (XLSX or PDF), within the place scope
    ("GET", "/api/residents/search"): Rule(STAFF),  # issue 18: by name, pinyin, initials, phone tail (masked)
    ("GET", "/api/villages"): Rule(STAFF),
    ("GET", "/api/homes"): Rule(STAFF),
    ("GET", "/api/residents"): Rule(STAFF),
    ("GET", "/api/devices"): Rule(STAFF),
    ("GET", "/api/readings/latest"): Rule(STAFF, HEALTH),
    ("GET", "/api/devices/{device_id}/readings"): Rule(STAFF, HEALTH),
    ("GET", "/api/stats"): Rule(STAFF),
    ("GET", "/api/detections"): Rule(STAFF, HEALTH),
    ("GET", "/api/evidence/{device_id}"): Rule(STAFF, HEALTH),
    ("GET", "/api/incidents"): Rule(STAFF),
    ("GET", "/api/incidents/{incident_id}"): Rule(STAFF, HEALTH),
    ("POST", "/api/incidents/{incident_id}/acknowledge"): Rule(STAFF),
    ("POST", "/api/incidents/{incident_id}/callback"): Rule(STAFF),
    ("GET", "/api/incidents/{incident_id}/candidates"): Rule(STAFF),
    ("POST", "/api/incidents/{incident_id}/dispatch"): Rule(STAFF),
    ("POST", "/api/incidents/{incident_id}/resolve"): Rule(STAFF),
    ("GET", "/api/incidents/{incident_id}/audit"): Rule(STAFF),
    ("POST", "/api/incidents/{incident_id}/contacts/reveal"): Rule(STAFF),  # audited by its handler, per incident
    ("POST", "/api/incidents"): Rule(STAFF),  # a request taken by phone
    ("GET", "/api/residents/{resident_id}/contacts"): Rule(STAFF),  # masked
    ("GET", "/api/calls"): Rule(STAFF),
    ("GET", "/api/calls/line"): Rule(STAFF),
    ("PUT", "/api/calls/line"): Rule(STAFF),
    ("GET", "/api/caring-calls"): Rule(STAFF),  # weekly calls to residents living alone
    ("POST", "/api/caring-calls/{task_id}"): Rule(STAFF),
    ("POST", "/api/caring-calls/{task_id}/reveal"): Rule(STAFF),  # audited by its handler, per resident
    ("GET", "/api/services"): Rule(STAFF),  # the service catalogue: prices and subsidy shares
    ("GET", "/api/incidents/{incident_id}/completion"): Rule(STAFF),
    ("GET", "/api/incidents/{incident_id}/messages"): Rule(STAFF),  # issue 15: texts sent, numbers masked
    ("GET", "/api/sms"): Rule(STAFF),
    ("GET", "/api/responders"): Rule(STAFF),
    ("POST", "/api/offers/{offer_id}/status"): Rule(STAFF),
    ("GET", "/api/command/state"): Rule(STAFF),
    ("GET", "/api/command/markers"): Rule(STAFF),
    ("GET", "/api/command/geojson"): Rule(STAFF),
    ("POST", "/api/command/reports"): Rule(REPORTING),  # operators take phoned-in reports; officers file their own
    ("GET", "/api/command/reporting"): Rule(REPORTING),  # issue 14: the report form's events and villages
    ("GET", "/api/command/reports/draft"): Rule(REPORTING),  # the form's prefill (a reporter: its villages)
    ("GET", "/api/command/reports/{event_id}/rollup.{fmt}"): Rule(STAFF),
    ("GET", "/api/command/evacuation/{area}"): Rule(STAFF),
    ("GET", "/api/command/events"): Rule(STAFF),  # issue 14: the events, open and closed, and the villages
    ("GET", "/api/command/drafts"): Rule(STAFF),  # issue 14: anyone on duty sees what waits for the commander
    ("GET", "/api/command/stations"): Rule(STAFF),  # issue 14: per-station thresholds
    ("POST", "/api/command/tasks/{task_id}"): Rule(STAFF),  # operators make the evacuation calls
    ("GET", "/api/evacuation"): Rule(STAFF),  # issue 14: the work list, phones masked
    ("POST", "/api/evacuation/tasks/{task_id}/status"): Rule(STAFF),  # ... worked by whoever makes the calls
    ("GET", "/api/resources"): Rule(STAFF),  # issue 14: teams, warehouses, stock, relief plans
    ("GET", "/api/resources/ledger"): Rule(STAFF),
    ("GET", "/api/resources/assignment"): Rule(STAFF),  # the optimal assignment beside the greedy one
    ("POST", "/api/resources/teams/{team_id}/status"): Rule(STAFF),  # duty staff relay the team's radio
    ("POST", "/api/resources/relief/{plan_id}/receipts/{village_id}"): Rule(REPORTING),  # its officer, or a call
    # supervisors (and above)
    ("POST", "/api/incidents/{incident_id}/close"): Rule(SUPERVISORS),
    ("GET", "/api/audit"): Rule(SUPERVISORS),
    ("GET", "/api/access-log"): Rule(SUPERVISORS),
    ("GET", "/api/escalation/policies"): Rule(SUPERVISORS),  # issue 15
    ("POST", "/api/responders"): Rule(SUPERVISORS),
    ("GET", "/api/residents/{resident_id}/identity"): Rule(SUPERVISORS),  # audited by its handler, per resident
    ("GET", "/api/export"): Rule(SUPERVISORS, HEALTH),
    ("GET", "/fhir/Observation"): Rule(SUPERVISORS, HEALTH),
    # commanders
    ("POST", "/api/command/events"): Rule(COMMAND),  # issue 14: commanders declare events
    ("POST", "/api/command/events/{event_id}/stabilise"): Rule(COMMAND),  # ... and open the verified stage
    ("POST", "/api/command/events/{event_id}/close"): Rule(COMMAND),  # ... and close them (no more deadlines)
    ("PUT", "/api/command/reporters/{username}"): Rule(ADMIN),  # issue 14: the villages of a reporter account
    ("GET", "/api/command/reporters"): Rule(ADMIN),
    ("POST", "/api/command/teams"): Rule(COMMAND),
    ("POST", "/api/evacuation/tasks/{task_id}/reveal"): Rule(COMMAND),  # issue 14: full phone number, audited
    ("POST", "/api/command/assign"): Rule(COMMAND),
    ("POST", "/api/command/warehouses"): Rule(COMMAND),
    ("POST", "/api/command/relief/plan"): Rule(COMMAND),
    ("POST", "/api/command/relief/approve"): Rule(COMMAND),
    ("POST", "/api/resources/teams"): Rule(COMMAND),  # issue 14: register a team, send teams, stock, relief
    ("POST", "/api/resources/assignment"): Rule(COMMAND),
    ("POST", "/api/resources/warehouses"): Rule(COMMAND),  # issue 14: a new warehouse on the page
    ("POST", "/api/resources/warehouses/{warehouse_id}/receipts"): Rule(COMMAND),
    ("POST", "/api/resources/relief"): Rule(COMMAND),
    ("POST", "/api/resources/relief/{plan_id}/approve"): Rule(COMMAND),
    ("POST", "/api/cap/import"): Rule(COMMAND),
    ("POST", "/api/command/drafts/{draft_id}/approve"): Rule(COMMAND),  # issue 14: a person signs CAP off
    ("POST", "/api/command/drafts/{draft_id}/reject"): Rule(COMMAND),
    # admins: staff accounts, the registry, the raw dead letters
    ("GET", "/api/admin/users"): Rule(ADMIN),
    ("PUT", "/api/command/stations/{station_id}"): Rule(ADMIN),  # issue 14: an admin edits a station's thresholds
    ("POST", "/api/admin/users"): Rule(ADMIN),
    ("POST", "/api/admin/users/{username}/disable"): Rule(ADMIN),
    ("PUT", "/api/admin/users/{username}/townships"): Rule(ADMIN),  # the account's place scope
    ("POST", "/api/villages"): Rule(ADMIN),
    ("POST", "/api/homes"): Rule(ADMIN),
    ("POST", "/api/residents"): Rule(ADMIN),
    ("POST", "/api/devices"): Rule(ADMIN),
    ("PUT", "/api/residents/{resident_id}/contacts"): Rule(ADMIN),
    ("GET", "/api/aliases"): Rule(ADMIN),
    ("POST", "/api/aliases"): Rule(ADMIN),
    ("DELETE", "/api/aliases/{source}/{external_id}"): Rule(ADMIN),
    ("GET", "/api/dead-letters"): Rule(ADMIN),
    ("PUT", "/api/escalation/policies/{severity}"): Rule(ADMIN),  # issue 15: audited with before and after
    ("DELETE", "/api/escalation/policies/{severity}"): Rule(ADMIN),
    # issue 16: devices' MQTT credentials
    ("GET", "/api/devices/credentials"): Rule(ADMIN),
    ("POST", "/api/devices/{device_id}/credentials"): Rule(ADMIN),
    ("POST", "/api/devices/{device_id}/revoke"): Rule(ADMIN),
}


def rule(method: str, path: str) -> Rule | None:
    """The rule of a route (HEAD as GET), or None when the route has no entry (the guard refuses it)."""
    return POLICY.get(("GET" if method == "HEAD" else method, path))
