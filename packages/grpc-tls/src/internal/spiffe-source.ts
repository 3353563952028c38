import type { Logger } from 'pino';
import { SigilError } from '@sigil/errors';
import {
  createWorkloadApiClient,
  parseWorkloadApiEndpoint,
  type X509Context,
} from '@sigil/workload-api';
import {
  createRotatingIdentity,
  storeOfIdentity,
  type RotatingIdentity,
} from '../rotating-identity';
import type { MaterialStore } from './material';

/** The X509-SVID stream of a Workload API as the material of an endpoint. */
export interface SpiffeSource {
  readonly store: MaterialStore;
  readonly identity: RotatingIdentity;
  close(): void;
}

/** The first SVID (the default, per the specification) with its trust domain's and federated roots. */
function materialOf(context: X509Context, origin: string) {
  const svid = context.svids[0];
  if (svid === undefined)
    throw new SigilError(
      'ERR_WORKLOAD_NOT_ENTITLED',
      `the Workload API (${origin}) sent no X509-SVID for this process`,
      { details: { variable: origin } },
    );
  return {
    certificateChainPem: svid.certificateChainPem,
    privateKeyPem: svid.privateKeyPem,
    caPem: [...context.bundles.values()].map((pem) => pem.trim()).join('\n') + '\n',
  };
}

/**
 * Opens mode `spiffe`: fetches the first X509-SVID context from the Workload API (a missing
 * socket, a refusal or no identity fail here with one clear error), serves it as a rotating
 * identity, and follows the FetchX509SVID stream: every pushed SVID or bundle is installed for
 * new handshakes while open connections keep theirs. A broken stream is retried with backoff and
 * the last material keeps serving meanwhile.
 */
export async function openSpiffeSource(
  spiffeEndpoint: { address: string; origin: string },
  options: { now: () => Date; warnDays: number },
  logger: Logger,
  side: string,
): Promise<SpiffeSource> {
  const endpoint = parseWorkloadApiEndpoint(spiffeEndpoint.address, spiffeEndpoint.origin);
  const client = createWorkloadApiClient({ endpoint });
  let identity: RotatingIdentity;
  try {
    identity = createRotatingIdentity(
      materialOf(await client.fetchX509Context(), spiffeEndpoint.origin),
      options,
    );
  } catch (err) {
    client.close();
    throw err;
  }
  const watch = client.watchX509Context({
    onUpdate: (context) => {
      try {
        const material = materialOf(context, spiffeEndpoint.origin);
        const current = identity.current;
        if (
          material.certificateChainPem === current.certificateChainPem &&
          material.caPem === current.caPem
        )
          return;
        identity.update(material);
      } catch (err) {
        logger.error(
          { event: 'grpc_tls.spiffe_update_rejected', side, error: (err as Error).message },
          'the Workload API sent material that does not validate; still serving the previous SVID',
        );
      }
    },
    onError: (err) =>
      logger.warn(
        { event: 'grpc_tls.spiffe_stream_failed', side, code: err.code, error: err.message },
        'the Workload API stream failed; retrying, the current SVID keeps serving',
      ),
  });
  return {
    store: storeOfIdentity(identity),
    identity,
    close() {
      watch.close();
      client.close();
    },
  };
}
