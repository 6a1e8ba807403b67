"""Synthetic people for the personal-data tests: unique names and valid citizen ID numbers that occur nowhere
else (no catalogue text, no other test data), so finding one in a dump or a log can only be a leak."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.sample_data import citizen_id

# Rare characters, none of them in the sample catalogue: a name made of them can only come from a person.
_FIRST = "鞠缪隗饶褚"
_SECOND = "珺瑀琤瑱璟琇瓒璘"
_THIRD = "翀喆昶曌淏翯玥珏祎"


@dataclass(frozen=True)
class Person:
    name: str
    id_number: str
    id_type: str = "111"

    def applicant(self) -> dict[str, str]:
        return {"name": self.name, "id_type": self.id_type, "id_number": self.id_number}

    def holder(self) -> dict[str, Any]:
        return {"holder_name": self.name, "holder_id_type": self.id_type, "holder_id": self.id_number}

    def forms(self) -> list[bytes]:
        """Every way the person's fields could appear in stored bytes: UTF-8 and JSON's \\u escapes."""
        escaped = "".join(f"\\u{ord(c):04x}" for c in self.name)
        return [self.name.encode(), escaped.encode(), self.id_number.encode()]


def people(count: int, division: str = "310101") -> list[Person]:
    """``count`` (at most 360) distinct people born in ``division``."""
    found = []
    for n in range(count):
        name = _FIRST[n % 5] + _SECOND[(n // 5) % 8] + _THIRD[(n // 40) % 9]
        found.append(Person(name, citizen_id(division, f"19{70 + n % 30}0{1 + n % 9}1{n % 10}", n)))
    return found
