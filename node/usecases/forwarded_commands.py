"""Commands another province forwards to this node because this node writes the case now.

The arguments are checked against the same JSON Schemas as the REST bodies of those commands, and the command
runs as the calling province (the one in its client certificate), office and operator. The case's rules
decide the rest, exactly as for a local caller.
"""

from __future__ import annotations

from typing import Any

import grpc
import jsonschema

from aggregates.case import Case
from aggregates.responsibility import Actor
from federation.errors import CommandRefused
from federation.servicer import CommandHandler
from node.errors import mapping_for
from node.store.idempotency import Idempotency
from node.usecases.case_commands import DECLARED, CaseCommand
from node.usecases.cases import CaseService

# the commands a party province may send on to the case's writer, by the name the proto gives them
FORWARDABLE: dict[str, CaseCommand] = {command.name: command for command in DECLARED if command.forwardable}


def command_handler(cases: CaseService) -> CommandHandler:
    """The handler of ``ForwardCaseCommand``: checks, then runs the command as the calling province."""

    def handle(
        province: str,
        case_id: str,
        command: str,
        arguments: dict[str, Any],
        office: str,
        operator: str,
        request_id: str,
    ) -> tuple[int, str]:
        declared = FORWARDABLE.get(command)
        if declared is None:
            raise CommandRefused(grpc.StatusCode.INVALID_ARGUMENT, "the command is not one a peer forwards")
        validator = jsonschema.Draft202012Validator(declared.forwarded_arguments)
        problems = sorted(validator.iter_errors(arguments), key=str)
        if problems:
            where = "/".join(str(p) for p in problems[0].absolute_path) or "(arguments)"
            raise CommandRefused(grpc.StatusCode.INVALID_ARGUMENT, f"{where}: {problems[0].validator} failed")
        try:
            refusal = _refusal(cases, cases.case(case_id), province)
            done = None
            if refusal is None:
                actor = Actor(province, office, operator)
                # a retry of this very command (its answer was lost) records nothing more
                request = Idempotency.for_request(
                    f"forwarded:{command}:{case_id}", actor, request_id, arguments
                )
                done = cases.run(declared, case_id, actor, request=request, **arguments)
        except Exception as e:
            mapping = mapping_for(e)
            if mapping is None:
                raise
            raise CommandRefused(mapping.grpc_code, str(e)) from None
        if refusal is not None or done is None:
            raise refusal or CommandRefused(grpc.StatusCode.INTERNAL, "no result")
        return done.version, done.state.value

    return handle


def _refusal(cases: CaseService, case: Case, province: str) -> CommandRefused | None:
    if case.writer() != cases.province:
        problem = f"province {cases.province} does not write this case now"
        return CommandRefused(grpc.StatusCode.FAILED_PRECONDITION, problem)
    if not case.is_party(province):
        return CommandRefused(grpc.StatusCode.PERMISSION_DENIED, f"province {province} is no party to it")
    return None
