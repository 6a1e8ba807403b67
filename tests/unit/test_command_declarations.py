"""Case commands declared once (node/usecases/case_commands.py): the REST routes, the forwarded federation
commands and the proto's CaseCommand enum all agree with the declarations, so a proto that lags fails here."""

from __future__ import annotations

import jsonschema
from tongban.federation.v1 import federation_pb2 as pb

from node.http.app import ENDPOINTS
from node.usecases.case_commands import ATTACH_MATERIAL, CONCLUDE_PART, DECLARED, DELIVER
from node.usecases.forwarded_commands import FORWARDABLE


def test_every_forwardable_command_has_its_proto_value_and_back() -> None:
    in_proto = {name.removeprefix("CASE_COMMAND_") for name in pb.CaseCommand.DESCRIPTOR.values_by_name} - {
        "UNSPECIFIED"
    }
    assert set(FORWARDABLE) == in_proto
    assert set(FORWARDABLE) == {command.name for command in DECLARED if command.forwardable}


def test_every_declared_command_is_a_route_with_its_schema_and_the_roles_it_checks() -> None:
    routes = {(ep.method, ep.path): ep for ep in ENDPOINTS}
    for command in DECLARED:
        endpoint = routes.pop(("POST", "/v1/cases/{case_id}" + command.path))
        assert endpoint.request is command.arguments
        assert endpoint.summary == command.summary
        # the document's "Allowed:" line is written from the roles the handler checks
        assert endpoint.roles == command.who
    # the other case routes are the filing, the reads and the bundle's: no command is written by hand
    left = {path for method, path in routes if method == "POST" and path.startswith("/v1/cases/{case_id}/")}
    assert left == set()


def test_the_allowed_line_names_each_role_checked_then_the_scope() -> None:
    assert DELIVER.who == "window officer or handling officer"
    assert ATTACH_MATERIAL.who == "window officer, platform or handling officer of a party province"
    assert CONCLUDE_PART.who == "handling officer of the part's province"


def test_names_are_unique_and_paths_distinct() -> None:
    assert len({c.name for c in DECLARED}) == len(DECLARED)
    assert len({c.path for c in DECLARED}) == len(DECLARED)


def test_a_forwarded_command_carries_the_arguments_its_rest_path_holds() -> None:
    forwarded = jsonschema.Draft202012Validator(CONCLUDE_PART.forwarded_arguments)
    assert forwarded.is_valid({"part_code": "P1", "result": "ISSUED"})
    assert not forwarded.is_valid({"result": "ISSUED"})  # the part is in the REST path, so required here
    rest = jsonschema.Draft202012Validator(CONCLUDE_PART.arguments)
    assert not rest.is_valid({"part_code": "P1", "result": "ISSUED"})  # and never in the REST body
    assert DELIVER.forwarded_arguments is DELIVER.arguments
