"""Townships as the statistics and the place scope of staff accounts name them.

A township's key is its official 9-digit division code where its villages carry one, else its name (villages
registered by hand): the same rule as `figures.PLACES`. People may type either the code or the name; `resolve`
turns both into the key, so an account's scope and a filter compare equal whichever was typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from devices.records import Village


class UnknownTownship(ValueError):
    """A township code or name that no registered village belongs to; `township` is what was asked for."""

    def __init__(self, township: str) -> None:
        super().__init__(f"no registered township {township!r}")
        self.township = township


def township_key(village: Village) -> str:
    """The key of a village's township: the first 9 digits of its official code, else the township's name."""
    return village.code[:9] if village.code else village.township


@dataclass(frozen=True, slots=True)
class Townships:
    """The registered townships: code or name -> key, and key -> the homes in it."""

    keys: dict[str, str]
    villages: dict[str, str]  # village_id -> township key

    @classmethod
    def of(cls, villages: Iterable[Village]) -> Townships:
        """The townships of these villages."""
        keys: dict[str, str] = {}
        owner: dict[str, str] = {}
        for v in villages:
            key = township_key(v)
            keys[key] = keys[v.township] = key
            owner[v.village_id] = key
        return cls(keys, owner)

    def resolve(self, asked: Sequence[str]) -> list[str]:
        """The keys of these codes or names, in order, without repeats; UnknownTownship for one not registered."""
        out: list[str] = []
        for name in asked:
            key = self.keys.get(name.strip())
            if key is None:
                raise UnknownTownship(name)
            if key not in out:
                out.append(key)
        return out

    def village_ids(self, keys: Iterable[str]) -> set[str]:
        """The villages of these townships."""
        wanted = set(keys)
        return {vid for vid, key in self.villages.items() if key in wanted}
