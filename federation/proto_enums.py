"""Domain enums and the proto enum values they travel as, in explicit tables: no proto name is built at
run time.

A name built from a domain value (``"CERTIFICATE_STATUS_" + status``) fails only when that value first
crosses, in production. These tables name every proto value, so mypy checks them against the generated
stubs, and ``tests/unit/test_proto_enums.py`` checks that each covers its domain enum and its proto enum
both ways.
Protobuf keeps the numbers of open enums it does not know; looking one up here gives None, and the caller
refuses it (``BatchRejected``, ``INVALID_ARGUMENT``).
"""

from __future__ import annotations

from tongban.common.v1 import certificate_status_pb2 as common_pb
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.certificate import Status

CERTIFICATE_STATUS: dict[Status, common_pb.CertificateStatus.ValueType] = {
    Status.VALID: common_pb.CERTIFICATE_STATUS_VALID,
    Status.SUSPENDED: common_pb.CERTIFICATE_STATUS_SUSPENDED,
    Status.ANNULLED: common_pb.CERTIFICATE_STATUS_ANNULLED,
    Status.CANCELLED: common_pb.CERTIFICATE_STATUS_CANCELLED,
    Status.EXPIRED: common_pb.CERTIFICATE_STATUS_EXPIRED,
    Status.REVOKED: common_pb.CERTIFICATE_STATUS_REVOKED,
    Status.TRANSFERRED_OUT: common_pb.CERTIFICATE_STATUS_TRANSFERRED_OUT,
    Status.NOT_YET_VALID: common_pb.CERTIFICATE_STATUS_NOT_YET_VALID,
}
STATUS_OF_PROTO = {number: status for status, number in CERTIFICATE_STATUS.items()}

# The commands a party may forward, by the name node/usecases/case_commands.py declares each under. Federation
# cannot import the node, so the names come from the proto's own values, not built from a domain value;
# tests/unit/test_proto_enums.py holds them to the declarations both ways.
CASE_COMMAND: dict[str, pb.CaseCommand.ValueType] = {
    name.removeprefix("CASE_COMMAND_"): number
    for name, number in pb.CaseCommand.items()
    if number != pb.CASE_COMMAND_UNSPECIFIED
}
COMMAND_OF_PROTO = {number: name for name, number in CASE_COMMAND.items()}
