import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { ERROR_CATALOGUE, SigilError } from '@sigil/errors';
import { createMemoryLogger, EchoClient, startEchoServer } from '@sigil/testing';
import type { Json, RunningEchoServer } from '@sigil/testing';
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
  const logs = createMemoryLogger();
  const logger = logs.logger;

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
    expect(err).toMatchObject({ code: grpc.status.INTERNAL, details: 'internal error' });
    expect(logs.records.at(-1)).toMatchObject({
      event: 'rpc.failed',
      method: '/test.v1.Test/Call',
    });
  });
});

describe('unaryHandler over a real grpc-js call', () => {
  let server: RunningEchoServer;
  let client: EchoClient;

  beforeAll(async () => {
    server = await startEchoServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      handlers: {
        echo: unaryHandler(
          pino({ level: 'silent' }),
          async (call: grpc.ServerUnaryCall<Json, Json>) => {
            if (call.request['text'] === 'sigil')
              throw new SigilError('ERR_TOKEN_REQUEST_INVALID', 'kind must be "connector"');
            if (call.request['text'] === 'refused')
              throw new SigilError('ERR_ENROLLMENT_REFUSED', 'enrollment token is invalid');
            throw new Error('db password is hunter2');
          },
        ),
      },
    });
    client = new EchoClient(server.address, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  const call = (text: string): Promise<grpc.ServiceError> =>
    new Promise((resolve, reject) =>
      client.echo({ text }, new grpc.Metadata(), {}, (err) =>
        err ? resolve(err) : reject(new Error('call succeeded')),
      ),
    );

  it("a thrown SigilError arrives with the catalogue's status and its message", async () => {
    const invalid = await call('sigil');
    expect(invalid.code).toBe(ERROR_CATALOGUE.ERR_TOKEN_REQUEST_INVALID.grpcStatus);
    expect(invalid.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid.details).toBe('kind must be "connector"');
    const refused = await call('refused');
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(refused.details).toBe('enrollment token is invalid');
  });

  it('anything else arrives as INTERNAL without its message', async () => {
    const err = await call('plain');
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).toBe('internal error');
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
