import { status } from '@grpc/grpc-js';
import { GrpcStatus, grpcStatusName } from '@sigil/errors';
import { statusName } from './status';

describe('gRPC status numbers', () => {
  it("@sigil/errors' GrpcStatus is grpc-js's status enum, name for name", () => {
    const grpcJs = Object.fromEntries(
      Object.entries(status).filter(([name]) => Number.isNaN(Number(name))),
    );
    expect(GrpcStatus).toEqual(grpcJs);
    for (const code of Object.values(GrpcStatus))
      expect(grpcStatusName(code)).toBe(statusName(code));
  });
});
