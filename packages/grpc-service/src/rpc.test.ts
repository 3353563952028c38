import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { assertArgument, isRpcError, rpcError, unaryHandler } from './rpc';

function invoke<Res>(
  handler: grpc.handleUnaryCall<unknown, Res>,
): Promise<{ err: Partial<grpc.StatusObject> | null; value?: Res | null }> {
  const call = { getPath: () => '/test.v1.Test/Call' } as unknown as grpc.ServerUnaryCall<
    unknown,
    Res
  >;
  return new Promise((resolve) =>
    handler(call, (err, value) =>
      resolve({ err: err as Partial<grpc.StatusObject> | null, value }),
    ),
  );
}

describe('rpcError / isRpcError', () => {
  it('builds a status error recognised by isRpcError', () => {
    const err = rpcError(grpc.status.NOT_FOUND, 'post p1 not found');
    expect(err).toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'post p1 not found',
      message: 'NOT_FOUND: post p1 not found',
    });
    expect(isRpcError(err)).toBe(true);
    expect(isRpcError(err, grpc.status.NOT_FOUND)).toBe(true);
    expect(isRpcError(err, grpc.status.INTERNAL)).toBe(false);
  });

  it('does not take arbitrary errors or OK for status errors', () => {
    expect(isRpcError(new Error('x'))).toBe(false);
    expect(isRpcError({ code: 'ENOENT' })).toBe(false);
    expect(isRpcError({ code: grpc.status.OK })).toBe(false);
    expect(isRpcError(undefined)).toBe(false);
  });
});

describe('unaryHandler', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });

  it('answers with the resolved value', async () => {
    await expect(invoke(unaryHandler(logger, async () => ({ ok: true })))).resolves.toEqual({
      err: null,
      value: { ok: true },
    });
  });

  it('answers with the status of a thrown rpcError', async () => {
    const { err } = await invoke(
      unaryHandler(logger, async () =>
        Promise.reject(rpcError(grpc.status.ALREADY_EXISTS, 'taken')),
      ),
    );
    expect(err).toMatchObject({ code: grpc.status.ALREADY_EXISTS, details: 'taken' });
  });

  it('hides any other failure behind INTERNAL and logs it', async () => {
    const { err } = await invoke(
      unaryHandler(logger, async () => Promise.reject(new Error('db password is hunter2'))),
    );
    expect(err).toEqual({ code: grpc.status.INTERNAL, details: 'internal error' });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      event: 'rpc.failed',
      method: '/test.v1.Test/Call',
    });
  });
});

describe('assertArgument', () => {
  it('throws INVALID_ARGUMENT with the details only when the condition fails', () => {
    expect(() => assertArgument(true, 'fine')).not.toThrow();
    expect(() => assertArgument(false, 'title is required')).toThrow(
      expect.objectContaining({ code: grpc.status.INVALID_ARGUMENT, details: 'title is required' }),
    );
  });
});
