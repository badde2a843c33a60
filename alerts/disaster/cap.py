"""CAP 1.2 (OASIS Common Alerting Protocol) for area warnings: build, parse, track active alerts, Atom feed.

Colour -> CAP mapping (our choice, after the CMA practice of red = Extreme): red Extreme/Immediate/Observed,
orange Severe/Expected/Likely, yellow Moderate/Expected/Likely, blue Minor/Future/Possible. Red and orange say
Evacuate, yellow Prepare, blue Monitor, a Cancel AllClear. The area is the area to notify (CAP 1.2, 3.2.4).
Times are written in China Standard Time (+08:00): CAP forbids "Z" and requires an explicit offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from lxml import etree

from alerts.disaster.reports import CST
from alerts.disaster.warnings import WarningLevel
from devices.geo import haversine_km
from devices.i18n import t

NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM = "http://www.w3.org/2005/Atom"
NSMAP = {"c": NS}
CAP_CODES = {  # level -> (severity, urgency, certainty, responseType)
    WarningLevel.RED: ("Extreme", "Immediate", "Observed", "Evacuate"),
    WarningLevel.ORANGE: ("Severe", "Expected", "Likely", "Evacuate"),
    WarningLevel.YELLOW: ("Moderate", "Expected", "Likely", "Prepare"),
    WarningLevel.BLUE: ("Minor", "Future", "Possible", "Monitor"),
}
LEVEL_OF_SEVERITY = {codes[0]: level for level, codes in CAP_CODES.items()} | {"Unknown": WarningLevel.BLUE}


@dataclass(frozen=True, slots=True)
class Circle:
    """CAP circle: centre (WGS84) and radius in km."""

    lat: float
    lon: float
    radius_km: float

    def contains(self, lat: float, lon: float) -> bool:
        """Whether a point lies inside (edge included)."""
        return haversine_km(self.lat, self.lon, lat, lon) <= self.radius_km

    def to_cap(self) -> str:
        """CAP text form "lat,lon radius"."""
        return f"{self.lat:.6f},{self.lon:.6f} {self.radius_km:g}"


@dataclass(frozen=True, slots=True)
class Polygon:
    """CAP polygon: a closed ring of (lat, lon) pairs, first == last, at least 4 pairs."""

    points: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, points: list[tuple[float, float]]) -> Polygon:
        """Polygon from a ring, closing it when needed."""
        ring = [(float(a), float(b)) for a, b in points]
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        if len(ring) < 4:
            raise ValueError("a CAP polygon needs at least 3 distinct points")
        return cls(tuple(ring))

    def contains(self, lat: float, lon: float) -> bool:
        """Ray casting in the lat/lon plane (fine for village- and county-sized areas)."""
        inside = False
        for (y1, x1), (y2, x2) in zip(self.points, self.points[1:], strict=False):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside

    def to_cap(self) -> str:
        """CAP text form "lat,lon lat,lon ..."."""
        return " ".join(f"{a:.6f},{b:.6f}" for a, b in self.points)


Shape = Circle | Polygon


@dataclass(frozen=True, slots=True)
class CapWarning:
    """One CAP message about one area warning (what `build_alert` writes and `parse_alert` reads)."""

    identifier: str
    sender: str
    sent: float  # epoch s
    level: WarningLevel
    event: str
    area_desc: str
    shapes: tuple[Shape, ...]
    msg_type: str = "Alert"  # Alert / Update / Cancel
    references: tuple[tuple[str, str, float], ...] = ()  # (sender, identifier, sent) of earlier messages
    category: str = "Met"  # Met (rain, flood) or Geo (landslide)
    headline: str = ""
    description: str = ""
    instruction: str = ""
    expires: float | None = None
    geocodes: dict[str, str] = field(default_factory=dict)
    english: dict[str, str] = field(default_factory=dict)  # issue 18: event, headline, description, instruction

    @property
    def source_key(self) -> str:
        """The warning this message is about: the first referenced alert, else itself."""
        return self.references[0][1] if self.references else self.identifier


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, CST).isoformat(timespec="seconds")


def issue(identifier: str, sender: str, sent: float, level: WarningLevel, **kw: Any) -> CapWarning:
    """A new warning (msgType Alert); kw: event, area_desc, shapes, headline, ... (CapWarning fields)."""
    return CapWarning(identifier, sender, sent, level, **kw)


def update(prev: CapWarning, identifier: str, sent: float, **changes: Any) -> CapWarning:
    """An Update superseding `prev` (new level, area, expiry... in `changes`)."""
    refs = (*prev.references, (prev.sender, prev.identifier, prev.sent))
    return replace(prev, identifier=identifier, sent=sent, msg_type="Update", references=refs, **changes)


def cancel(prev: CapWarning, identifier: str, sent: float, description: str = "") -> CapWarning:
    """A Cancel of `prev` and everything it superseded."""
    refs = (*prev.references, (prev.sender, prev.identifier, prev.sent))
    desc = description or t("cap.cancelled", event=prev.event)
    english = prev.english and {**prev.english, "description": t("cap.cancelled", "en", event=prev.english["event"])}
    return replace(prev, identifier=identifier, sent=sent, msg_type="Cancel", references=refs, description=desc,
                   english=english)


def build_alert(w: CapWarning) -> bytes:
    """CAP 1.2 XML of one message (UTF-8, with declaration)."""
    if any(c in w.identifier for c in " ,<&") or any(c in w.sender for c in " ,<&"):
        raise ValueError("CAP identifier and sender may not contain spaces, commas, < or &")
    root = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})
    _sub(root, "identifier", w.identifier)
    _sub(root, "sender", w.sender)
    _sub(root, "sent", _when(w.sent))
    for name, text in (("status", "Actual"), ("msgType", w.msg_type), ("scope", "Public")):
        _sub(root, name, text)
    if w.references:
        _sub(root, "references", " ".join(f"{s},{i},{_when(t)}" for s, i, t in w.references))
    texts = {"event": w.event, "headline": w.headline, "description": w.description, "instruction": w.instruction}
    _info(root, w, "zh-CN", texts)
    if w.english:  # issue 18: only where configured (HUB_UI__CAP_ENGLISH); zh-CN stays the first block
        _info(root, w, "en-US", {k: w.english.get(k, "") for k in texts} | {"event": w.english.get("event", w.event)})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _info(root: etree._Element, w: CapWarning, language: str, texts: dict[str, str]) -> None:
    """One <info> block in `language` with its event, headline, description and instruction."""
    severity, urgency, certainty, response = CAP_CODES.get(w.level, CAP_CODES[WarningLevel.BLUE])
    info = _sub(root, "info")
    _sub(info, "language", language)
    _sub(info, "category", w.category)
    _sub(info, "event", texts["event"])
    _sub(info, "responseType", "AllClear" if w.msg_type == "Cancel" else response)
    for name, text in (("urgency", urgency), ("severity", severity), ("certainty", certainty)):
        _sub(info, name, text)
    if w.expires is not None:
        _sub(info, "expires", _when(w.expires))
    for name in ("headline", "description", "instruction"):
        if texts.get(name):
            _sub(info, name, texts[name])
    param = _sub(info, "parameter")
    _sub(param, "valueName", "warningColour")
    _sub(param, "value", w.level.colour)
    _area(info, w)


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS}}}{name}")
    el.text = text
    return el


def _area(info: etree._Element, w: CapWarning) -> None:
    """One <area> with every polygon before every circle, as the schema's sequence requires."""
    area = _sub(info, "area")
    _sub(area, "areaDesc", w.area_desc)
    for shape in sorted(w.shapes, key=lambda s: isinstance(s, Circle)):
        _sub(area, "circle" if isinstance(shape, Circle) else "polygon", shape.to_cap())
    for name, value in w.geocodes.items():
        code = _sub(area, "geocode")
        _sub(code, "valueName", name)
        _sub(code, "value", value)


def _text(node: etree._Element, path: str, default: str = "") -> str:
    found = node.find(path, NSMAP)
    return found.text.strip() if found is not None and found.text else default


def _level(info: etree._Element) -> WarningLevel:
    """Our colour parameter when present (round trip), else the CAP severity."""
    params = {_text(p, "c:valueName"): _text(p, "c:value") for p in info.findall("c:parameter", NSMAP)}
    by_colour = {lv.colour: lv for lv in WarningLevel}
    by_severity = LEVEL_OF_SEVERITY.get(_text(info, "c:severity"), WarningLevel.BLUE)
    return by_colour.get(params.get("warningColour", ""), by_severity)


def _shapes(info: etree._Element) -> tuple[Shape, ...]:
    shapes: list[Shape] = []
    for poly in info.findall("c:area/c:polygon", NSMAP):
        pairs = [p.split(",") for p in (poly.text or "").split()]
        shapes.append(Polygon.of([(float(a), float(b)) for a, b in pairs]))
    for circ in info.findall("c:area/c:circle", NSMAP):
        centre, radius = (circ.text or "").split()
        lat, lon = centre.split(",")
        shapes.append(Circle(float(lat), float(lon), float(radius)))
    return tuple(shapes)


def parse_alert(xml: bytes) -> CapWarning:
    """Read an external CAP 1.2 alert (its first info block); raises ValueError on malformed input."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(xml, parser)
        info = root.find("c:info", NSMAP)
        if root.tag != f"{{{NS}}}alert" or info is None:
            raise ValueError("not a CAP 1.2 alert with an info block")
        refs = tuple(_reference(r) for r in _text(root, "c:references").split())
        expires = _text(info, "c:expires")
        areas = info.findall("c:area", NSMAP)
        return CapWarning(
            _text(root, "c:identifier"), _text(root, "c:sender"), _epoch(_text(root, "c:sent")), _level(info),
            _text(info, "c:event"), "; ".join(_text(a, "c:areaDesc") for a in areas), _shapes(info),
            _text(root, "c:msgType", "Alert"), refs, _text(info, "c:category", "Met"),
            _text(info, "c:headline"), _text(info, "c:description"), _text(info, "c:instruction"),
            _epoch(expires) if expires else None,
            {_text(g, "c:valueName"): _text(g, "c:value") for g in info.iterfind("c:area/c:geocode", NSMAP)},
        )  # fmt: skip
    except (etree.XMLSyntaxError, ValueError, TypeError) as exc:
        raise ValueError(f"bad CAP alert: {exc}") from exc


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _reference(ref: str) -> tuple[str, str, float]:
    sender, identifier, sent = ref.split(",")
    return sender, identifier, _epoch(sent)


def import_level(w: CapWarning) -> WarningLevel:
    """The area level an imported message asks for (a Cancel withdraws: NONE)."""
    return WarningLevel.NONE if w.msg_type == "Cancel" else w.level


@dataclass
class ActiveAlerts:
    """Messages by id and those in force (an Update supersedes, a Cancel withdraws, expiry ends)."""

    messages: dict[str, CapWarning] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)

    def put(self, w: CapWarning) -> None:
        """Record a message issued here or imported."""
        self.messages[w.identifier] = w
        self._active -= {ident for _, ident, _ in w.references}
        if w.msg_type != "Cancel":
            self._active.add(w.identifier)

    def active(self, now: float) -> list[CapWarning]:
        """Unexpired messages in force, newest first."""
        live = [self.messages[i] for i in self._active]
        live = [w for w in live if w.expires is None or w.expires > now]
        return sorted(live, key=lambda w: (-w.sent, w.identifier))

    def get(self, identifier: str) -> CapWarning | None:
        """Any recorded message (served at /cap/alerts/<identifier>.xml)."""
        return self.messages.get(identifier)


def atom_feed(alerts: list[CapWarning], base_url: str, updated: float, title: str = "") -> bytes:
    """Atom feed of active alerts, each entry linking to its CAP XML at {base_url}/cap/alerts/<id>.xml."""
    base = base_url.rstrip("/")
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _atom(feed, "id", f"{base}/cap/alerts.xml")
    _atom(feed, "title", title or t("cap.feed_title"))
    _atom(feed, "updated", _when(updated))
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/cap/alerts.xml")
    _atom(_atom(feed, "author"), "name", alerts[0].sender if alerts else "hub")
    for w in alerts:
        entry = _atom(feed, "entry")
        _atom(entry, "id", f"urn:cap:{w.sender}:{w.identifier}")
        _atom(entry, "title", w.headline or f"{w.level.label_zh} {w.event} {w.area_desc}")
        _atom(entry, "updated", _when(w.sent))
        level, grade = t(f"level.{int(w.level)}"), t(f"grade.{int(w.level)}")
        _atom(entry, "summary", f"{level}（{grade}）{w.msg_type}: {w.area_desc}")
        href = f"{base}/cap/alerts/{w.identifier}.xml"
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type="application/cap+xml", href=href)
    return etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _atom(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{ATOM}}}{name}")
    el.text = text
    return el
