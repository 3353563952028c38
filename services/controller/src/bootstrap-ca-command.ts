import { SigilError } from '@sigil/errors';
import { ensurePrivateDirectory } from '@sigil/pki';
import type { ControllerConfig } from './config';
import { rotateBootstrapCa } from './internal/authorities';
import type { BootstrapCaRotation } from './internal/authorities';
import { openControllerStore } from './store/open-store';

/** The verbs of `sigil-controller bootstrap-ca`. */
const VERBS = ['rotate'] as const;

/**
 * `sigil-controller bootstrap-ca rotate`: replaces the bootstrap CA in `DATA_DIR` (see
 * {@link rotateBootstrapCa}); the controller serves the new one after its next start. Enrolled
 * agents keep verifying the controller through their runtime bundle, because the serving
 * certificate is signed by the runtime CA; that is not so while the current runtime CA is an
 * upstream intermediate (then the bootstrap CA signs the serving certificate), so the rotation is
 * refused then.
 *
 * @example
 * ```ts
 * const rotation = await runBootstrapCaCommand('rotate', config);
 * process.stdout.write(`${rotation.fingerprint}\n`);
 * ```
 */
export async function runBootstrapCaCommand(
  verb: string | undefined,
  config: ControllerConfig,
): Promise<BootstrapCaRotation> {
  if (verb === undefined || !(VERBS as readonly string[]).includes(verb))
    throw new SigilError(
      'ERR_USAGE',
      `usage: sigil-controller bootstrap-ca rotate [flags] (got ${verb === undefined ? 'no verb' : `"${verb}"`})`,
    );
  ensurePrivateDirectory(config.dataDir, { variable: 'DATA_DIR', code: 'ERR_DATA_DIR_UNUSABLE' });
  await refuseUnderUpstreamCa(config);
  return rotateBootstrapCa({
    dataDir: config.dataDir,
    trustDomain: config.trustDomain,
    now: new Date(),
  });
}

/** Refuses while the stored trust state's current runtime CA is an intermediate (an upstream CA). */
async function refuseUnderUpstreamCa(config: ControllerConfig): Promise<void> {
  const store = await openControllerStore({
    dataDir: config.dataDir,
    ...(config.databaseUrl === undefined ? {} : { databaseUrl: config.databaseUrl }),
  });
  let current: { certificatePem: string; rootPem: string } | undefined;
  try {
    await store.migrate();
    const stored = await store.getTrustState();
    if (stored !== undefined)
      current = (
        JSON.parse(stored.document) as {
          state: { current: { certificatePem: string; rootPem: string } };
        }
      ).state.current;
  } finally {
    await store.close();
  }
  if (current !== undefined && current.certificatePem.trim() !== current.rootPem.trim())
    throw new SigilError(
      'ERR_CA_ROTATION_REFUSED',
      `the current runtime CA is an upstream intermediate, so the bootstrap CA in DATA_DIR ${config.dataDir} signs the controller's certificate and every enrolled agent pins it: a new bootstrap CA would cut them all off. Rotate the runtime CA to a self-signed generation first, or replace bootstrap-ca.crt/.key by hand and enroll every agent again`,
      { details: { step: 'bootstrap-ca' } },
    );
}
