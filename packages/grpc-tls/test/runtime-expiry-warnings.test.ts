// Expiry warnings that fit short-lived certificates: the default 24 h SVID issued a second ago is
// not "expiring soon"; and a certificate served and dialled with (an agent's) warns once.
import { createMemoryLogger } from '@sigil/testing';
import type { IssuedCertificate } from '@sigil/pki';
import {
  createClientCredentials,
  createRotatingIdentity,
  createServerCredentials,
  loadClientTlsConfig,
  loadServerTlsConfig,
} from '../src';
import type { Pki } from './support/fixtures';
import { createPki } from './support/fixtures';

let pki: Pki;
let daily: IssuedCertificate;
const HOUR = 3_600_000;

beforeAll(async () => {
  pki = await createPki();
  daily = await pki.issue({ ttlSeconds: 24 * 3600, now: new Date(Date.now() - 1000) });
});

/** Opens a server and a client endpoint on `daily` at time `now`, logging to one logger. */
async function open(now: Date) {
  const logs = createMemoryLogger();
  const identity = createRotatingIdentity(
    {
      certificateChainPem: daily.chainPem,
      privateKeyPem: daily.privateKeyPem!,
      caPem: daily.caPem,
    },
    { now: () => now },
  );
  const options = { logger: logs.logger, now: () => now };
  const server = await createServerCredentials(
    loadServerTlsConfig({ env: {}, configFile: false, identity }),
    options,
  );
  const client = await createClientCredentials(
    loadClientTlsConfig({
      env: {},
      configFile: false,
      identity,
      expectedServerId: 'spiffe://example.org',
    }),
    options,
  );
  server.close();
  client.close();
  return logs.records.filter((r) => r.event === 'grpc_tls.cert_expiring_soon');
}

it('does not warn about a fresh 24 h certificate under the 30-day default window', async () => {
  expect(await open(new Date())).toEqual([]);
  expect(await open(new Date(daily.notAfter.getTime() - 9 * HOUR))).toEqual([]);
});

it('warns once a third of the lifetime is left, once per certificate for several endpoints', async () => {
  const warnings = await open(new Date(daily.notAfter.getTime() - 7 * HOUR));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatchObject({ level: 40, side: 'server', daysLeft: 0 });
  expect(warnings[0]!['msg']).toMatch(/\(in 7h, less than a third of its 1d lifetime left\)$/);
});
