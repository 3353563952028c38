// Calls to a sample identity-service, each on a fresh channel: every call is a new TLS handshake
// with the material of that moment, so a rotation that breaks handshakes shows as a failure.
import type { ClientCredentialsHandle } from '@sigil/grpc-tls';
import { identityV1 } from '@sigil/proto';

/** What {@link freshHandshakeCalls} counted so far. */
export interface CallTally {
  ok: number;
  /** `<code>: <details>` of every failed call. */
  failures: string[];
}

/** `call()` makes one IssueToken call on a new channel to 127.0.0.1:`port` and counts it in `tally`. */
export function freshHandshakeCalls(
  port: number,
  tls: Pick<ClientCredentialsHandle, 'credentials' | 'channelOptions'>,
): { tally: CallTally; call(): Promise<void> } {
  const tally: CallTally = { ok: 0, failures: [] };
  const call = async (): Promise<void> => {
    const client = new identityV1.IdentityServiceClient(
      `127.0.0.1:${String(port)}`,
      tls.credentials,
      {
        ...tls.channelOptions,
        'grpc.use_local_subchannel_pool': 1,
      },
    );
    await new Promise<void>((resolve) =>
      client.issueToken({ userId: 'u1', tenantId: 't1', ttlSeconds: 60 }, (err) => {
        if (err === null) tally.ok += 1;
        else tally.failures.push(`${err.code}: ${err.details}`);
        client.close();
        resolve();
      }),
    );
  };
  return { tally, call };
}
