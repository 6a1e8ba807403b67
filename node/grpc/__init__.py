"""The gRPC entrypoint: grpc.aio server, public servicers, interceptors, health and reflection."""
