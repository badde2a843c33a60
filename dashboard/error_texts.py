"""Errors the pages show, in the reader's language: every 4xx/5xx answer keeps its `detail` (for scripts and logs)
and gains a `message` from the catalogue in the language of whoever asked (their saved choice, else the hub's).

The hub's services raise their errors in English with the values in them ("no incident 7", "device 'W9' is not
registered; register it first"); `PATTERNS` reads the values back out of those details and fills the matching
catalogue text (dashboard/i18n/*.errors.json). FastAPI's own validation errors (a missing or malformed field)
become one short sentence naming the fields. A detail no pattern knows gets the status's general text ("not found",
"not allowed"...), never English on a Chinese page. common.js shows `message` where the answer has one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from dashboard.auth import SESSION_COOKIE, StaffAuth
from dashboard.i18n_api import CATALOGUE, language_of
from devices.i18n import hub_language

_ID = r"'(?P<{}>[^']*)'"
# (English detail as the services write it, catalogue key); named groups fill the key's {placeholders}
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^sign in first$", "error.sign in first"),
    (r"^wrong user name or password$", "error.wrong user name or password"),
    (r"^needs role \[(?P<roles>[^\]]*)\]$", "error.needs_role"),
    (r"^missing or wrong X-CSRF-Token header$", "error.csrf"),
    (r"^cross-site (request|websocket) refused$", "error.cross_site"),
    (r"^too many failed sign-ins from this address; wait (?P<seconds>\d+) s$", "error.too_many_sign_ins"),
    (r"^a user name and a password of at least 8 characters are required$", "error.password_rule"),
    (r"^user " + _ID.format("user") + " exists$", "error.user_exists"),
    (r"^role must be one of .*$", "error.role"),
    (r"^start must be before end$", "error.start_before_end"),
    (r"^give exactly one of device_id or resident_id$", "error.device_or_resident"),
    (r"^device " + _ID.format("device") + " is not registered; register it first$", "devices.error.not_registered"),
    (r"^device " + _ID.format("device") + " is not registered$", "error.device_not_registered"),
    (r"^device " + _ID.format("device") + " has no credential and is not registered$", "devices.error.unknown"),
    (r"^" + _ID.format("device") + r" is reserved .*$", "devices.error.reserved"),
    (r"^invalid device id " + _ID.format("device") + ".*$", "devices.error.invalid"),
    (r"^resident " + _ID.format("resident") + " is not registered$", "error.resident_not_registered"),
    (r"^no resident " + _ID.format("resident") + "$", "error.resident_not_registered"),
    (r"^village " + _ID.format("village") + " is not registered$", "error.village_not_registered"),
    (r"^no incident (?P<id>\d+)$", "error.no_incident"),
    (r"^incident (?P<id>\d+) is (?P<state>\w+); cannot become (?P<to>\w+)$", "error.incident_state"),
    (r"^incident (?P<id>\d+) has no position to rank responders by$", "error.no_position"),
    (r"^" + _ID.format("responder") + r" is not a capable responder for incident (?P<id>\d+)$", "error.not_capable"),
    (r"^outcome must be one of .*$", "error.outcome"),
    (r"^no candidate to offer to$", "error.no_candidate"),
    (r"^no event (?P<event>\S+)$", "error.no_event"),
    (r"^no task (?P<task>\S+)$", "error.no_task"),
    (r"^no \w[\w ]* in this hub$", "error.unavailable"),
    (r"^task (?P<task>\S+): (?P<task_state>\w+) -> (?P<task_to>\w+) not allowed$", "error.task_state"),
    (r"^no offer (?P<offer>\S+)$", "error.no_offer"),
    (r"^offer (?P<offer>\S+) is not for (?P<responder>\S+)$", "error.offer_not_for"),
    (r"^offer (?P<offer>\S+) is (?P<offer_state>\w+); cannot become (?P<offer_to>\w+)$", "error.offer_state"),
    (r"^kind must be one of .*$", "error.responder_kind"),
    (r"^unknown services \[(?P<services>[^\]]*)\]; known: .*$", "error.responder_services"),
    (r"^hours must look like 08:00-20:00, got .*$", "error.responder_hours"),
    (r"^the period ends \((?P<last>[^)]*)\) before it starts \((?P<first>[^)]*)\)$", "insights.error.period_order"),
    (r"^a period of at most (?P<days>\d+) days$", "insights.error.period_long"),
    (r"^days from (?P<earliest>\S+) to (?P<latest>\S+)$", "insights.error.period_range"),
    (r"^no registered township '(?P<township>[^']*)'$", "scopes.error.unknown_township"),  # scope by place
    (r"^township (?P<township>\S+) is outside this account's scope$", "scopes.error.out_of_scope"),
    (r"^a month as YYYY-MM, not '(?P<month>[^']*)'$", "scopes.error.month"),  # the monthly report
    (r"^only an account of the whole county may do this$", "scope2.error.county_only"),
    (r"^a place outside this account's townships$", "scope2.error.outside"),
    (r"^an account limited to townships gives accounts only townships of its own$", "scope2.error.admin_within"),
    (r"^(?P<reason>duplicate_event|bad_stage|missing_field|unknown_event|stage_order|out_of_order"
     r"|correction_without_note|cumulative_decrease|event_closed|already_closed): .*$", "error.report.{reason}"),
    # issue 14: declaring events and warehouses on the pages (dashboard/i18n/*.cmdpages.json)
    (r"^township '(?P<township>[^']*)' is not registered$", "scopes.error.unknown_township"),
    (r"^townships \[(?P<townships>[^\]]*)\] are not registered$", "cmdpages.error.townships"),
    (r"^the event's start lies in the future$", "cmdpages.error.start_future"),
    (r"^warehouse (?P<warehouse>\S+) is registered already$", "cmdpages.error.warehouse_exists"),
    (r"^(?P<warehouse>\S+) holds (?P<have>\S+) (?P<item>\w+) not expired, the plan ships (?P<qty>\S+): plan again$",
     "cmdpages.error.short_valid_stock"),
))  # fmt: skip
# values inside a message that the catalogue names ("supervisor" -> 值班长)
WORDS: Mapping[str, str] = {"roles": "role.", "state": "state.", "to": "state.", "task_state": "task.",
                            "task_to": "task.", "offer_state": "offer.", "offer_to": "offer.", "services": "service.",
                            "item": "resources.item."}
_PARAM = {"task_state": "state", "task_to": "to", "offer_state": "state", "offer_to": "to"}  # group -> placeholder
STATUS_KEYS = {400: "error.status.400", 401: "error.sign in first", 403: "error.status.403", 404: "error.status.404",
               405: "error.status.405", 409: "error.status.409", 413: "error.status.413", 422: "error.status.422",
               429: "error.status.429", 503: "error.status.503"}  # fmt: skip


def _named(language: str, prefix: str, value: str) -> str:
    names = [v.strip().strip("'\"") for v in value.split(",")] if prefix in ("role.", "service.") else [value]
    messages = CATALOGUE.messages(language)
    return _separator(language).join(messages.get(prefix + n, n) for n in names if n)


def _separator(language: str) -> str:
    """The list separator of a language (、 in Chinese)."""
    return CATALOGUE.text("error.list_separator", language)


def translate(detail: str, status: int, language: str) -> str:
    """The reader's text of an English `detail`: a known pattern with its values, else the status's general text."""
    for pattern, key in PATTERNS:
        found = pattern.match(detail)
        if found is None:
            continue
        params = {_PARAM.get(k, k): _named(language, WORDS[k], v) if k in WORDS else v
                  for k, v in found.groupdict().items()}
        return CATALOGUE.text(key.format(**params), language, **params)
    return CATALOGUE.text(STATUS_KEYS.get(status, "error.status.500" if status >= 500 else "error.status.400"),
                          language)


def validation_text(errors: list[Any], language: str) -> str:
    """FastAPI's validation errors as one sentence naming the fields ("输入有误，请检查：开始时间、结束时间")."""
    messages = CATALOGUE.messages(language)
    fields: list[str] = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if not isinstance(p, int) and p not in ("body", "query", "path")]
        name = loc[-1] if loc else ""
        label = messages.get(f"field.{name}") or messages.get(f"indicator.{name}", name)  # a report's indicators
        if label and label not in fields:
            fields.append(label)
    if not fields:
        return CATALOGUE.text("error.status.422", language)
    return CATALOGUE.text("error.validation", language, fields=_separator(language).join(fields))


def reader_language(request: Request) -> str:
    """The language of whoever asked: the signed-in user's choice, else the hub's."""
    auth: StaffAuth | None = getattr(getattr(request.app.state, "ctx", None), "auth", None)
    token = request.cookies.get(SESSION_COOKIE)
    if auth is None or not token:
        return hub_language()
    user = auth.session(token)
    return language_of(auth.db, user.username) if user is not None else hub_language()


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # registered for this class only
    body: dict[str, Any] = {"detail": exc.detail}
    if exc.status_code >= 400:
        body["message"] = translate(str(exc.detail), exc.status_code, reader_language(request))
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for this class only
    errors = list(exc.errors())
    message = validation_text(errors, reader_language(request))
    return JSONResponse({"detail": jsonable_encoder(errors), "message": message}, status_code=422)


HANDLERS: dict[type[Exception], Callable[[Request, Exception], JSONResponse]] = {
    StarletteHTTPException: _http_error,
    RequestValidationError: _validation_error,
}


def install(app: FastAPI) -> None:
    """Answer every HTTP error with a `message` in the reader's language beside FastAPI's usual `detail`."""
    for exc_class, handler in HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
