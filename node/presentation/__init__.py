"""The JSON shapes of cases, certificates and their histories: one module per kind, used alike by the REST
handlers, the gRPC servicers and the audit tools, so a shape is written once.

May import: aggregates, node.usecases (to read a case's clocks) and the shared node modules; never node.http,
node.grpc or node.cli.
"""
