import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metadata } from '@grpc/grpc-js';
import type { JWTPayload } from 'jose';
import type { PeerIdentity } from '../peer-identity-types';

/**
 * What the server interceptors learned about one call. It is keyed by the call's request
 * `Metadata` object: grpc-js hands that same object through every interceptor's
 * `onReceiveMetadata` to the handler (`call.metadata`), so a WeakMap on it reaches handlers
 * without putting anything on the wire (a header could be forged by the client) and is
 * collected with the call.
 */
export interface CallState {
  /** `undefined` until resolved; `null` when the peer presented no verified certificate. */
  identity?: PeerIdentity | null;
  /** Why a verified certificate was still not accepted as an identity (the PeerTrust check failed). */
  rejectedCertificate?: string;
  /** Whether `identity` went through the PeerTrust check. */
  trustApplied?: boolean;
  claims?: JWTPayload;
  token?: string;
  /** A short hash of `token` (see status.ts `tokenHash`), for logs. */
  tokenHash?: string;
  tenantId?: string;
}

const states = new WeakMap<Metadata, CallState>();

export function callStateOf(metadata: Metadata): CallState {
  let state = states.get(metadata);
  if (state === undefined) {
    state = {};
    states.set(metadata, state);
  }
  return state;
}

export function findCallState(metadata: Metadata | undefined): CallState | undefined {
  return metadata === undefined ? undefined : states.get(metadata);
}

/** What onward calls made while serving a request inherit (read by the forwarding interceptor). */
export interface OutboundContext {
  readonly token: string;
}

/**
 * Only entered when there is a token to forward, so servers without JWT never pay for
 * AsyncLocalStorage's promise hooks.
 */
export const outboundContext = new AsyncLocalStorage<OutboundContext>();
