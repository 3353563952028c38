import * as grpc from '@grpc/grpc-js';
import { createHealthService, type HealthService } from './health';

type HealthResponse = { status: string };
type HealthClient = grpc.Client & {
  check(
    request: { service: string },
    callback: (err: grpc.ServiceError | null, res?: HealthResponse) => void,
  ): void;
  watch(request: { service: string }): grpc.ClientReadableStream<HealthResponse>;
};

describe('createHealthService (grpc.health.v1 over a real server)', () => {
  let server: grpc.Server;
  let health: HealthService;
  let client: HealthClient;

  beforeEach(async () => {
    health = createHealthService();
    server = new grpc.Server();
    server.addService(health.definition, health.implementation);
    // Plaintext is fine here: this suite is about the health protocol, not transport security.
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    const Client = grpc.makeGenericClientConstructor(
      health.definition,
      'Health',
    ) as unknown as new (address: string, credentials: grpc.ChannelCredentials) => HealthClient;
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  afterEach(() => {
    client.close();
    server.forceShutdown();
  });

  const check = (service: string): Promise<HealthResponse> =>
    new Promise((resolve, reject) =>
      client.check({ service }, (err, res) => (err ? reject(err) : resolve(res!))),
    );

  it('reports the whole server as SERVING from the start', async () => {
    await expect(check('')).resolves.toEqual({ status: 'SERVING' });
  });

  it('answers NOT_FOUND for a service never registered', async () => {
    await expect(check('sigil.unknown.v1.Nope')).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
  });

  it('follows setServing for a named service', async () => {
    health.setServing('sigil.identity.v1.IdentityService', true);
    await expect(check('sigil.identity.v1.IdentityService')).resolves.toEqual({
      status: 'SERVING',
    });
    health.setServing('sigil.identity.v1.IdentityService', false);
    await expect(check('sigil.identity.v1.IdentityService')).resolves.toEqual({
      status: 'NOT_SERVING',
    });
  });

  it('streams status changes to Watch, and shutdown() ends the stream after NOT_SERVING', async () => {
    health.setServing('svc', true);
    const stream = client.watch({ service: 'svc' });
    const seen: string[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    await new Promise<void>((resolve) =>
      stream.on('data', (message: HealthResponse) => {
        seen.push(message.status);
        if (seen.length === 1) {
          health.setServing('svc', false);
          health.setServing('svc', true);
          health.shutdown();
        }
        if (seen.length === 4) resolve();
      }),
    );
    await ended;
    expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING', 'NOT_SERVING']);
  });

  it('lets a server drain without waiting for watchers once shutdown() ran', async () => {
    const stream = client.watch({ service: '' });
    stream.on('error', () => undefined);
    await new Promise((resolve) => stream.once('data', resolve));
    health.shutdown();
    await new Promise<void>((resolve, reject) =>
      server.tryShutdown((err) => (err ? reject(err) : resolve())),
    );
  });
});
