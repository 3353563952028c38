import * as grpc from '@grpc/grpc-js';
import { EchoClient, HealthClient, failure, startEchoServer, unary } from './echo-service';
import type { Json, RunningEchoServer } from './echo-service';

describe('startEchoServer', () => {
  let server: RunningEchoServer;
  let client: EchoClient;
  const insecure = grpc.credentials.createInsecure();

  beforeAll(async () => {
    server = await startEchoServer({
      credentials: grpc.ServerCredentials.createInsecure(),
      handlers: {
        admin: (_call, callback) =>
          callback({ code: grpc.status.PERMISSION_DENIED, details: 'no' }),
      },
    });
    client = new EchoClient(server.address, insecure);
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('echoes unary and bidi calls, streams ticks and answers health checks', async () => {
    await expect(unary(client, 'echo', { text: 'hi' })).resolves.toEqual({ text: 'hi' });
    await expect(unary(client, 'slow', { delayMs: 10 })).resolves.toEqual({ delayMs: 10 });
    await expect(unary(client, 'whoAmI')).resolves.toEqual({});
    const health = new HealthClient(server.address, insecure);
    await expect(unary(health, 'check')).resolves.toEqual({ status: 'SERVING' });
    health.close();

    const chat = client.chat();
    const echoed = new Promise<Json>((resolve) => chat.once('data', resolve));
    chat.write({ n: 1 });
    await expect(echoed).resolves.toEqual({ n: 1 });
    chat.end();

    const ticks = client.ticks({});
    const first = await new Promise<Json>((resolve) => ticks.once('data', resolve));
    expect(first).toEqual({ n: 0 });
    ticks.on('error', () => undefined);
    ticks.cancel();
  });

  it('uses the handlers given in place of the defaults', async () => {
    const err = await failure(unary(client, 'admin'));
    expect(err).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details: 'no' });
    await expect(failure(unary(client, 'echo'))).rejects.toThrow('expected the call to fail');
  });
});
