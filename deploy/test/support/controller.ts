// A real sigil-controller process on loopback (embedded store in a temp dir), as an operator runs
// it, with enrollment tokens created over its admin HTTP API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnBin } from '@sigil/testing';

const REPO = path.resolve(__dirname, '..', '..', '..');
const ADMIN_TOKEN = 'deploy-test-admin-token-0123456789abcdef';

/** A running controller. */
export interface ControllerProcess {
  /** `127.0.0.1:<port>` of the gRPC control plane. */
  grpcAddress: string;
  /** `$DATA_DIR/bootstrap-ca.crt`: what agents pin as CONTROLLER_CA_PATH. */
  bootstrapCaPath: string;
  /** A one-time enrollment token from `POST /api/admin/tokens`. */
  createToken(kind: 'connector' | 'tunneler', id: string, connectorId?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts `sigil-controller` (services/controller/bin, built) and waits until it has started. */
export async function startControllerProcess(): Promise<ControllerProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sigil-deploy-controller-'));
  const bin = spawnBin(path.join(REPO, 'services/controller/bin/sigil-controller.js'), {
    env: {
      DATA_DIR: path.join(dir, 'data'),
      TRUST_DOMAIN: 'deploy.test',
      CONTROLLER_LISTEN_ADDR: '127.0.0.1:0',
      ADMIN_LISTEN_ADDR: '127.0.0.1:0',
      SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
    },
  });
  const stop = async (): Promise<void> => {
    await bin.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const started = await bin.next('controller.started', 30_000).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const adminUrl = String(started.adminUrl);
  return {
    grpcAddress: String(started.grpcAddress),
    bootstrapCaPath: String(started.bootstrapCaPath),
    async createToken(kind, id, connectorId) {
      const response = await fetch(new URL('/api/admin/tokens', adminUrl), {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind, id, ...(connectorId ? { connector_id: connectorId } : {}) }),
      });
      if (!response.ok) throw new Error(`POST /api/admin/tokens: ${response.status}`);
      return ((await response.json()) as { token: string }).token;
    },
    stop,
  };
}
