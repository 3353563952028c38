import type * as grpc from '@grpc/grpc-js';
import {
  createCertificateSigningRequest,
  createPossessionProof,
  generateKeyPair,
} from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import { controlPlaneClient, StreamRecorder, unary } from './fixtures';
import type { ControllerFixture } from './fixtures';

/** A client certificate and its key, as an agent (or a thief who copied its files) holds them. */
export interface Identity {
  chainPem: string;
  keyPem: string;
}

/**
 * Hand-driven ControlPlaneService clients for one controller: every client it made is closed by
 * `close()`. Acts as the real agent or as an attacker holding a copied identity.
 */
export function agentClients(fx: () => ControllerFixture) {
  const clients: grpc.Client[] = [];
  const clientFor = (identity: Identity): controlplaneV1.ControlPlaneServiceClient => {
    const client = controlPlaneClient(
      fx().controller.grpcAddress,
      fx().controller.bootstrapCaPem,
      identity,
    );
    clients.push(client);
    return client;
  };
  return {
    clientFor,
    /** Renews with a fresh key; resolves to the new identity. */
    async renew(identity: Identity): Promise<Identity> {
      const key = await generateKeyPair('ec-p256');
      const client = clientFor(identity);
      const renewed = await unary(client.renew.bind(client), {
        csrPem: await createCertificateSigningRequest(key),
      });
      return { chainPem: renewed.certificateChainPem, keyPem: key.privateKeyPem };
    },
    /** GetTrustBundle: an RPC that presents the certificate (and so marks it used). */
    async call(identity: Identity): Promise<void> {
      const client = clientFor(identity);
      await unary(client.getTrustBundle.bind(client), {});
    },
    open(identity: Identity): StreamRecorder {
      return new StreamRecorder(clientFor(identity).connect());
    },
    /** Answers the stream's current nonce with `identity` (the renewed certificate and key). */
    reauthenticate(stream: StreamRecorder, identity: Identity, nonce: Buffer): void {
      stream.call.write({
        body: {
          $case: 'reauthenticate',
          reauthenticate: {
            certificateChainPem: identity.chainPem,
            nonce,
            signature: createPossessionProof(identity.keyPem, nonce),
          },
        },
      });
    },
    close(): void {
      for (const c of clients) c.close();
    },
  };
}

/** The rejection of a promise expected to fail. */
export async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: grpc.ServiceError) => e,
  );
}

/** Sends one connector heartbeat. */
export function heartbeat(stream: StreamRecorder, sequence: number): void {
  stream.call.write({
    body: {
      $case: 'heartbeat',
      heartbeat: {
        sequence,
        version: '1.0.0',
        privateIp: '',
        sentAt: 0,
        certificateNotAfter: 0,
        bundleVersion: 0,
      },
    },
  });
}
