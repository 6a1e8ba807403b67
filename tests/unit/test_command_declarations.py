"""Case commands declared once (node/usecases/case_commands.py): the REST routes, the forwarded federation
commands and
the proto's CaseCommand enum all agree with the declarations, so a proto that lags fails here."""

from __future__ import annotations

from tongban.federation.v1 import federation_pb2 as pb

from node.http.app import ENDPOINTS
from node.usecases.case_commands import DECLARED
from node.usecases.forwarded_commands import FORWARDABLE


def test_every_forwardable_command_has_its_proto_value_and_back() -> None:
    in_proto = {name.removeprefix("CASE_COMMAND_") for name in pb.CaseCommand.DESCRIPTOR.values_by_name} - {
        "UNSPECIFIED"
    }
    assert set(FORWARDABLE) == in_proto


def test_every_declared_command_is_a_route_and_forwardable_where_declared() -> None:
    routes = {(ep.method, ep.path): ep for ep in ENDPOINTS}
    for command in DECLARED:
        endpoint = routes[("POST", "/v1/cases/{case_id}" + command.path)]
        assert endpoint.request is command.arguments
        assert endpoint.roles == command.who
        assert (command.name in FORWARDABLE) is command.forwardable
        if command.forwardable:
            assert FORWARDABLE[command.name][1] is command.arguments
