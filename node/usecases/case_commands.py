"""Case commands declared once: each names its REST path, its arguments' schema, who may call it and whether
a party province may forward it to the case's writer. The REST routes and their OpenAPI entries
(``node/http/cases.py``), the forwarded federation commands (``node/usecases/forwarded_commands.py``) and the
authorisation table derive from these declarations; the proto's ``CaseCommand`` enum names each forwardable
one (a test holds them together).

Adding a forwardable case command: the aggregate's method and event (``aggregates/case.py``), a declaration
here, and a value of ``CaseCommand`` in ``protos/tongban/federation/v1/federation.proto``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregates.case import Case
from aggregates.responsibility import Actor
from node.auth import Role
from node.http import case_schemas as cs
from node.http.schemas import Schema


@dataclass(frozen=True)
class CaseCommand:
    name: str  # CASE_COMMAND_<name> in the proto; the command a forwarded request names
    path: str  # REST: POST /v1/cases/{case_id}<path>
    summary: str
    arguments: Schema  # the REST body, and a forwarded command's arguments
    roles: tuple[Role, ...]
    who: str  # who may call it, for the API document
    forwardable: bool  # a party province other than the writer may send it on to the writer
    record: Callable[[Case, Actor, datetime, dict[str, Any]], None]  # the aggregate's command method


WITHDRAW = CaseCommand(
    name="WITHDRAW",
    path="/withdraw",
    summary="撤回申请: the applicant withdraws the application before the decision; every clock stops",
    arguments=cs.REASON,
    roles=(Role.WINDOW, Role.PLATFORM),
    who="window officer or platform of the receiving province",
    forwardable=True,
    record=lambda case, actor, at, arguments: case.withdraw(arguments["reason"], actor, at),
)

DECLARED: tuple[CaseCommand, ...] = (WITHDRAW,)
