"""The generated pretext.v1 modules (from clients/python/gen.sh), for raw protobuf access."""

from ._gen.pretext.v1 import event_pb2, run_pb2, service_pb2, service_pb2_grpc, study_pb2

__all__ = ["event_pb2", "run_pb2", "service_pb2", "service_pb2_grpc", "study_pb2"]
