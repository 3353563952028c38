// The data plane end to end: a real controller, connector and tunnelers (in process, real mTLS
// on loopback), PostgreSQL at 127.0.0.1:5432 as the resource, queried with the `pg` client
// through the tunneler's local port; HTTP and raw TCP resources for byte-exact transfers.
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, request, type Server as HttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { resolveAgentConfig, startAgent, type RunningAgent } from '@sigil/agent';
import { waitFor } from '@sigil/testing';
import { startTunnelerPart, type TunnelerPart } from '@sigil/tunneler';
import { Client } from 'pg';
import {
  ADMIN_TOKEN,
  metric,
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';

jest.setTimeout(120_000);

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
const BLOB = randomBytes(24 * 1024 * 1024);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('the data plane: tunnelers reach resources through their connector, by grant', () => {
  let fx: ControlPlaneFixture;
  let connector: RunningConnector;
  let connectorAddr: string;
  let sentinel: Server;
  let sentinelPort: number;
  let sentinelHits = 0;
  let http: HttpServer;
  let halfClose: Server;

  const admin = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${fx.controller.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json: unknown = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const resource = (name: string, address: string, connectorId = 'edge-1') =>
    admin('POST', '/api/admin/resources', { name, address, connector_id: connectorId });
  const grant = (resourceName: string, who: { tunneler_id: string } | { label: string }) =>
    admin('POST', '/api/admin/grants', { resource: resourceName, ...who }) as Promise<{
      id: string;
    }>;

  async function tunneler(
    id: string,
    forwards: string[],
    labels?: string[],
    via: { connectorId: string; address: string } = {
      connectorId: 'edge-1',
      address: connectorAddr,
    },
  ): Promise<RunningAgent<TunnelerPart>> {
    const env = await fx.enrollEnv('tunneler', id, {
      connectorId: via.connectorId,
      env: { CONNECTOR_ADDR: via.address, TUNNELER_FORWARDS: forwards.join(',') },
      ...(labels === undefined ? {} : { labels }),
    });
    const agent = fx.track(
      await startAgent(
        fx.runtime(resolveAgentConfig({ kind: 'tunneler', command: 'run', env, ephemeral: true })),
        startTunnelerPart,
      ),
    );
    await waitFor(`the tunnel of ${id}`, () => agent.part.tunnel.up);
    return agent;
  }
  const localPort = (agent: RunningAgent<TunnelerPart>, index: number): number =>
    Number(agent.part.forwards.addresses[index]!.split(':').at(-1));

  const pgThrough = async (port: number): Promise<Client> => {
    const client = new Client({ ...PG, port, connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };

  /** The tunneler log's refusal reasons for `resource`, as `forward.refused` records. */
  const refusals = (resourceName: string): string[] =>
    fx.agentLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((r) => r.event === 'forward.refused' && r.resource === resourceName)
      .map((r) => String(r.reason));

  const audit = async (action: string) =>
    (await admin('GET', `/api/admin/audit?action=${action}&limit=1000`)) as Array<{
      subject: string;
      details: Record<string, unknown>;
    }>;

  beforeAll(async () => {
    fx = await startControlPlane();
    connector = await fx.startConnector(await fx.enrollEnv('connector', 'edge-1'), true);
    connectorAddr = `127.0.0.1:${connector.part.port}`;
    await waitFor('the connector stream', () => connector.part.control.up);

    // Anything that reaches this listener was dialled by the connector when it must not be.
    sentinel = createServer((socket) => {
      sentinelHits += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sentinel.listen(0, '0.0.0.0', resolve));
    sentinelPort = (sentinel.address() as AddressInfo).port;

    http = createHttpServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-length': BLOB.length });
        res.end(BLOB);
        return;
      }
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => res.end(JSON.stringify({ size, sha256: hash.digest('hex') })));
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

    // Reads until the client half-closes, then answers with what it got and closes its side.
    halfClose = createServer({ allowHalfOpen: true }, (socket) => {
      const hash = createHash('sha256');
      let size = 0;
      socket.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
      });
      socket.on('end', () => socket.end(`${size} ${hash.digest('hex')}`));
      // The connector resets it when a tunneled connection is cut (idle timeout).
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => halfClose.listen(0, '127.0.0.1', resolve));

    await resource('pg-main', '127.0.0.1:5432');
    await resource('dead', `127.0.0.1:${await closedPort()}`);
    await resource('lab', `127.0.0.0/31:${sentinelPort}`);
    await resource('lab-pg', '127.0.0.0/31:5432');
    await resource('lab-ports', `127.0.0.2/32:${sentinelPort + 1}-${sentinelPort + 2}`);
    await resource('elsewhere', `10.255.255.0/24:${sentinelPort}`);
    await resource('web', `127.0.0.1:${(http.address() as AddressInfo).port}`);
    await resource('half-close', `127.0.0.1:${(halfClose.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    await fx.cleanup();
    sentinel.close();
    http.close();
    halfClose.close();
  });

  it('runs queries on PostgreSQL through the tunneler, audits the connection and counts it', async () => {
    const laptop = await tunneler('db-laptop', ['127.0.0.1:0=pg-main'], ['team=db']);
    await grant('pg-main', { label: 'team=db' });
    const client = await waitFor('a granted connection', () => pgThrough(localPort(laptop, 0)));
    const { rows } = await client.query<{ n: number; who: string }>(
      'SELECT count(*)::int AS n, current_database() AS who FROM generate_series(1, 50000)',
    );
    expect(rows).toEqual([{ n: 50000, who: 'test' }]);
    const many = await client.query(
      'SELECT repeat(md5(i::text), 20) FROM generate_series(1, 2000) i',
    );
    expect(many.rowCount).toBe(2000);
    await client.end();

    const closed = await waitFor('the tunnel.closed audit record', async () =>
      (await audit('tunnel.closed')).find((r) => r.subject.endsWith('/db-laptop')),
    );
    expect(closed.details).toMatchObject({
      resource: 'pg-main',
      target: '127.0.0.1:5432',
      reason: 'client_closed',
    });
    expect(closed.details.bytes_down as number).toBeGreaterThan(2000 * 640);
    expect(closed.details.bytes_up as number).toBeGreaterThan(0);
    const registry = connector.runtime.session.metrics.registry;
    expect(await metric(registry, 'sigil_connector_forwards_opened_total')).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      await metric(registry, 'sigil_connector_forward_bytes_total', { direction: 'down' }),
    ).toBeGreaterThan(2000 * 640);
  });

  it('refuses at once, with a distinct reason the tunneler logs: no grant, unknown resource, unreachable', async () => {
    const intruder = await tunneler('intruder', [
      '127.0.0.1:0=pg-main',
      '127.0.0.1:0=no-such',
      '127.0.0.1:0=dead',
    ]);
    await grant('dead', { tunneler_id: 'intruder' });
    await waitFor('the grant to reach the connector', async () => {
      await expect(pgThrough(localPort(intruder, 2))).rejects.toThrow();
      return refusals('dead').includes('resource_unreachable');
    });
    for (const index of [0, 1])
      await expect(pgThrough(localPort(intruder, index))).rejects.toThrow();
    await waitFor(
      'the refusals in the tunneler log',
      () =>
        refusals('pg-main').includes('no_grant') &&
        refusals('no-such').includes('unknown_resource'),
    );
    const registry = connector.runtime.session.metrics.registry;
    for (const reason of ['no_grant', 'unknown_resource', 'resource_unreachable'])
      expect(
        await metric(registry, 'sigil_connector_forwards_refused_total', { reason }),
      ).toBeGreaterThanOrEqual(1);
    const refused = await waitFor('tunnel.refused audit records', async () => {
      const records = (await audit('tunnel.refused')).filter((r) =>
        r.subject.endsWith('/intruder'),
      );
      return records.length >= 3 ? records : undefined;
    });
    expect(new Set(refused.map((r) => r.details.reason))).toEqual(
      new Set(['no_grant', 'unknown_resource', 'resource_unreachable']),
    );
  });

  it('never dials outside its resources: an address outside, a name resolving elsewhere, a port outside a range', async () => {
    const prober = await tunneler('prober', [
      `127.0.0.1:0=lab@127.0.0.2:${sentinelPort}`,
      `127.0.0.1:0=elsewhere@localhost:${sentinelPort}`,
      `127.0.0.1:0=lab-ports@127.0.0.2:${sentinelPort}`,
      '127.0.0.1:0=lab-pg@127.0.0.1:5432',
    ]);
    for (const name of ['lab', 'elsewhere', 'lab-ports', 'lab-pg'])
      await grant(name, { tunneler_id: 'prober' });
    // Inside the network, on its port: it works.
    const client = await waitFor('a connection inside the network', () =>
      pgThrough(localPort(prober, 3)),
    );
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await client.end();
    for (const index of [0, 1, 2]) {
      const socket = connect(localPort(prober, index), '127.0.0.1');
      await new Promise((resolve) => socket.on('close', resolve).on('error', () => undefined));
    }
    await waitFor('three target_not_allowed refusals', () =>
      ['lab', 'elsewhere', 'lab-ports'].every((name) =>
        refusals(name).includes('target_not_allowed'),
      ),
    );
    expect(sentinelHits).toBe(0);
  });

  it('cuts a query in flight within a second when the tunneler is revoked, or its grant or resource removed', async () => {
    const cut = async (
      id: string,
      resourceName: string,
      action: () => Promise<unknown>,
      reason: string,
    ): Promise<number> => {
      const agent = await tunneler(id, [`127.0.0.1:0=${resourceName}`]);
      const granted = await grant(resourceName, { tunneler_id: id });
      const client = await waitFor(`a connection of ${id}`, () => pgThrough(localPort(agent, 0)));
      const query = client.query('SELECT pg_sleep(20)').then(
        () => 'completed',
        (err: Error) => err.message,
      );
      await waitFor('the query to run', async () => {
        const probe = new Client(PG);
        await probe.connect();
        const { rows } = await probe.query(
          "SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)' AND state = 'active'",
        );
        await probe.end();
        return rows.length > 0;
      });
      const started = Date.now();
      await action();
      expect(await query).toMatch(/Connection terminated|ECONNRESET/);
      const elapsed = Date.now() - started;
      const closed = await waitFor(`the tunnel.closed record of ${id}`, async () =>
        (await audit('tunnel.closed')).find((r) => r.subject.endsWith(`/${id}`)),
      );
      expect(closed.details.reason).toBe(reason);
      void granted;
      return elapsed;
    };
    await resource('pg-cut', '127.0.0.1:5432');
    const revoked = await cut(
      'revokee',
      'pg-main',
      () => admin('POST', '/api/admin/tunnelers/revokee/revoke', { reason: 'laptop stolen' }),
      'revoked',
    );
    const ungranted = await cut(
      'ungrantee',
      'pg-cut',
      async () => {
        const grants = (await admin('GET', '/api/admin/grants')) as Array<{
          id: string;
          tunneler_id?: string;
        }>;
        return admin(
          'DELETE',
          `/api/admin/grants/${grants.find((g) => g.tunneler_id === 'ungrantee')!.id}`,
        );
      },
      'grant_removed',
    );
    const removed = await cut(
      'unresourced',
      'pg-cut',
      () => admin('DELETE', '/api/admin/resources/pg-cut'),
      'resource_removed',
    );
    // Reported in the test output: the bound is one second.
    process.stdout.write(
      `cut after: revoked ${revoked} ms, grant removed ${ungranted} ms, resource removed ${removed} ms\n`,
    );
    for (const ms of [revoked, ungranted, removed]) expect(ms).toBeLessThan(1000);
  });

  it('enforces streams per tunneler, connections per resource and the idle timeout', async () => {
    const edge2 = await fx.startConnector(
      await fx.enrollEnv('connector', 'edge-2', {
        env: {
          CONNECTOR_MAX_STREAMS_PER_TUNNELER: '2',
          CONNECTOR_MAX_CONNECTIONS_PER_RESOURCE: '3',
          CONNECTOR_IDLE_TIMEOUT: '4s',
        },
      }),
      true,
    );
    await waitFor('the second connector', () => edge2.part.control.up);
    const via = { connectorId: 'edge-2', address: `127.0.0.1:${edge2.part.port}` };
    await resource('echo-2', `127.0.0.1:${(halfClose.address() as AddressInfo).port}`, 'edge-2');
    const a = await tunneler('limited-a', ['127.0.0.1:0=echo-2'], undefined, via);
    const b = await tunneler('limited-b', ['127.0.0.1:0=echo-2'], undefined, via);
    await grant('echo-2', { tunneler_id: 'limited-a' });
    await grant('echo-2', { tunneler_id: 'limited-b' });
    const registry = edge2.runtime.session.metrics.registry;
    const opened = () => metric(registry, 'sigil_connector_forwards_opened_total');
    const limited = () =>
      metric(registry, 'sigil_connector_forwards_refused_total', { reason: 'limit_reached' });
    /** Opens a local connection and resolves once the connector has dialled the resource (or refused). */
    const open = async (agent: RunningAgent<TunnelerPart>) => {
      const [before, refusedBefore] = [await opened(), await limited()];
      const socket = connect({ port: localPort(agent, 0), host: '127.0.0.1', allowHalfOpen: true });
      socket.on('error', () => undefined);
      await waitFor(
        'the connector to decide',
        async () => (await opened()) > before || (await limited()) > refusedBefore,
      );
      return { socket, refused: (await limited()) > refusedBefore };
    };
    await waitFor('the grants to reach edge-2', async () => !(await open(a)).refused);
    // The probe above holds one of limited-a's two streams.
    expect((await open(a)).refused).toBe(false);
    expect((await open(a)).refused).toBe(true); // a third for limited-a
    expect((await open(b)).refused).toBe(false); // three to echo-2 now
    expect((await open(b)).refused).toBe(true); // a fourth to echo-2
    expect(
      refusals('echo-2').filter((reason) => reason === 'limit_reached').length,
    ).toBeGreaterThanOrEqual(2);
    // Nothing moves on the three open connections: the idle timeout closes them.
    await waitFor(
      'the idle timeout',
      async () =>
        (await metric(registry, 'sigil_connector_forwards_closed_total', {
          reason: 'idle_timeout',
        })) >= 3,
      20_000,
    );
    expect(await metric(registry, 'sigil_connector_forwards_active')).toBe(0);
  });

  it('moves a large HTTP download and upload byte-exact, and propagates half-close both ways', async () => {
    const web = await tunneler('web-client', ['127.0.0.1:0=web', '127.0.0.1:0=half-close']);
    await grant('web', { tunneler_id: 'web-client' });
    await grant('half-close', { tunneler_id: 'web-client' });
    const port = localPort(web, 0);
    const download = await waitFor('the download', () => httpCall(port, 'GET'));
    expect(download.length).toBe(BLOB.length);
    expect(sha256(download)).toBe(sha256(BLOB));
    const upload = JSON.parse((await httpCall(port, 'POST', BLOB)).toString()) as {
      size: number;
      sha256: string;
    };
    expect(upload).toEqual({ size: BLOB.length, sha256: sha256(BLOB) });

    // The client half-closes after sending; the resource answers only after it saw that EOF.
    const part = BLOB.subarray(0, 4 * 1024 * 1024);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ port: localPort(web, 1), host: '127.0.0.1', allowHalfOpen: true });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        resolve(Buffer.concat(chunks).toString());
        socket.end();
      });
      socket.on('error', reject);
      socket.end(part);
    });
    expect(answer).toBe(`${part.length} ${sha256(part)}`);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function httpCall(port: number, method: string, body?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/blob', agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
