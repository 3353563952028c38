import { ServerInterceptingCall, status } from '@grpc/grpc-js';
import type {
  Metadata,
  ServerInterceptingCallInterface,
  ServerInterceptor,
  ServerMethodDefinition,
} from '@grpc/grpc-js';
import type { PeerTrust } from '../peer-identity-types';
import { resolvePeerIdentity } from './resolve-peer-identity';

/** Runs once when a call ends, with its status and (when it got that far) its request metadata. */
export type CallEndListener = (
  code: status,
  details: string,
  requestMetadata: Metadata | undefined,
) => void;

/** Runs when a call starts and returns what to run when it ends. */
export type CallObserver = (
  method: ServerMethodDefinition<unknown, unknown>,
  call: ServerInterceptingCallInterface,
) => CallEndListener;

const DEADLINE_SLACK_MS = 100;

/**
 * One interceptor layer that can resolve the peer identity when the request metadata arrives and
 * tell any number of observers (request logging, metrics) how each call ended. Every grpc-js
 * interceptor layer costs about a microsecond per call, so the standard chain puts identity,
 * logging and metrics in one layer.
 *
 * A call ends on the status sent by the handler or a later interceptor, or, when grpc-js ends it
 * itself (client cancellation, deadline), on the cancel notification. grpc-js sends a timed-out
 * call's DEADLINE_EXCEEDED status straight from its transport, past every interceptor, so a
 * cancel at the deadline is reported as DEADLINE_EXCEEDED. "At" has a little slack: the client
 * runs the same timeout from slightly earlier and usually cancels first, and timers fire by the
 * event loop's cached clock, which can lag Date.now().
 */
export function createObservingInterceptor(
  observers: readonly CallObserver[],
  options: { resolveIdentity: boolean; peerTrust?: PeerTrust | undefined },
): ServerInterceptor {
  const { resolveIdentity, peerTrust } = options;
  if (observers.length === 0) {
    return (_method, call) =>
      new ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              if (resolveIdentity) resolvePeerIdentity(call, metadata, peerTrust);
              nextMetadata(metadata);
            },
          }),
      });
  }
  return (method, call) => {
    const listeners = observers.map((observe) => observe(method, call));
    let ended = false;
    let requestMetadata: Metadata | undefined;
    const end = (code: status, details: string): void => {
      if (ended) return;
      ended = true;
      for (const listener of listeners) listener(code, details, requestMetadata);
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            requestMetadata = metadata;
            if (resolveIdentity) resolvePeerIdentity(call, metadata, peerTrust);
            nextMetadata(metadata);
          },
          onCancel: () => {
            const deadline = call.getDeadline();
            if (deadline !== Infinity && Number(deadline) - DEADLINE_SLACK_MS <= Date.now())
              end(status.DEADLINE_EXCEEDED, 'Deadline exceeded');
            else end(status.CANCELLED, 'Cancelled');
          },
        }),
      sendStatus: (outcome, next) => {
        end(outcome.code, outcome.details ?? '');
        next(outcome);
      },
    });
  };
}
