import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { createCertificateAuthority } from '@sigil/pki';
import { issueTestIdentity } from '../test/support/identity';
import { startAgentRuntime } from './agent-runtime';
import { resolveAgentConfig } from './config';
import { createIdentityStore } from './identity-store';

describe('startAgentRuntime', () => {
  let dir: string;
  const logger = pino({ level: 'silent' });
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'agent-runtime-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const config = (env: Record<string, string> = {}) =>
    resolveAgentConfig({
      kind: 'connector',
      command: 'run',
      env: { STATE_DIR: dir, AGENT_HTTP_ADDR: '127.0.0.1:0', ...env },
    });

  async function storeIdentity(issuedAt: Date, ttlSeconds: number): Promise<void> {
    const ca = await createCertificateAuthority({
      trustDomain: 'example.org',
      now: new Date(issuedAt.getTime() - 60_000),
    });
    await createIdentityStore({ kind: 'connector', stateDir: dir }).save(
      await issueTestIdentity({ ca, issuedAt, ttlSeconds }),
    );
  }

  it('refuses to run without an identity, saying how to enroll', async () => {
    await expect(
      startAgentRuntime({ config: config(), version: '1.0.0', logger }),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_ENROLLED',
      message: `no connector identity in STATE_DIR ${dir}: run \`sigil-connector enroll\` first (or \`run --ephemeral\`)`,
    });
  });

  it('refuses an identity that expired while the agent was down: it must enroll again', async () => {
    await storeIdentity(new Date(Date.now() - 2 * 3_600_000), 600);
    const error = await startAgentRuntime({ config: config(), version: '1.0.0', logger }).then(
      () => undefined,
      (err: unknown) => err as Error & { code: string },
    );
    expect(error?.code).toBe('ERR_IDENTITY_UNUSABLE');
    expect(error?.message).toMatch(
      new RegExp(
        `^the connector identity spiffe://example.org/connector/edge-1 in STATE_DIR ${dir} cannot be used: .*expired.*; enroll again with a new token$`,
      ),
    );
  });

  it('refuses a CONNECTOR_ID that is not the one in STATE_DIR', async () => {
    await storeIdentity(new Date(), 600);
    await expect(
      startAgentRuntime({ config: config({ CONNECTOR_ID: 'edge-2' }), version: '1.0.0', logger }),
    ).rejects.toMatchObject({
      code: 'ERR_CONFIG_INVALID',
      message: `CONNECTOR_ID=edge-2 but STATE_DIR ${dir} holds the identity of edge-1`,
    });
  });

  it('serves /healthz, and /readyz as the agent sets it, until closed', async () => {
    await storeIdentity(new Date(), 600);
    const runtime = await startAgentRuntime({ config: config(), version: '1.0.0', logger });
    try {
      expect((await fetch(`${runtime.http.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${runtime.http.url}/readyz`)).status).toBe(503);
      runtime.setReady(true);
      expect((await fetch(`${runtime.http.url}/readyz`)).status).toBe(200);
      expect(runtime.session.nextRenewalAt).toBeInstanceOf(Date);
    } finally {
      await runtime.close();
    }
  });
});
