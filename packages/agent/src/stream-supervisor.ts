import type * as grpc from '@grpc/grpc-js';
import { createPossessionProof } from '@sigil/pki';
import type { controlplaneV1 } from '@sigil/proto';
import type pino from 'pino';
import type { AgentMetrics } from './agent-metrics';
import { createBackoff, type BackoffOptions } from './backoff';
import {
  describeServiceError,
  isRevocationStatus,
  isUnavailableStatus,
} from './internal/grpc-errors';
import { tcpReachable } from './internal/tcp-reachable';

/**
 * While a reconnect waits out a backoff longer than this, the peer is probed with a bare TCP
 * connect this often; once a peer that was unreachable answers again, the stream reopens after a
 * random delay of up to {@link PEER_BACK_SPREAD_MS} (a fleet spreads out instead of waiting for
 * its backoff cap, and does not storm the peer in one instant).
 */
const PEER_PROBE_INTERVAL_MS = 1_000;
const PEER_BACK_SPREAD_MS = 2_000;

/**
 * What both long-lived agent streams receive: heartbeat acks, drains, revocation and the stream's
 * re-authentication challenges, plus their own commands.
 *
 * @example
 * ```ts
 * function handleCommand(message: SupervisedMessage): void {
 *   if (message.body?.$case === 'renewNow') void session.renewNow();
 * }
 * ```
 */
export interface SupervisedMessage {
  body?:
    | { $case: 'heartbeatAck'; heartbeatAck: { sequence: number; bundleVersion?: number } }
    | { $case: 'drain'; drain: { reason: string; reconnectAfterMs: number } }
    | { $case: 'revoked'; revoked: controlplaneV1.Revoked }
    | { $case: 'challenge'; challenge: controlplaneV1.StreamChallenge }
    | { $case: 'streamExtended'; streamExtended: controlplaneV1.StreamExtended }
    | { $case: string }
    | undefined;
}

/**
 * One opened stream and how to release its connection.
 *
 * @example
 * ```ts
 * const opened: OpenedStream<controlplaneV1.AgentMessage, controlplaneV1.ControllerMessage> = dialer.openConnect('10.0.0.5:8443');
 * opened.stream.end();
 * opened.close();
 * ```
 */
export interface OpenedStream<TOut, TIn> {
  stream: grpc.ClientDuplexStream<TOut, TIn>;
  /** Closes the channel the stream ran on. */
  close(): void;
}

/**
 * How a supervised stream re-authenticates in-band after a renewal (see
 * {@link StreamSupervisorOptions.reauthentication}).
 *
 * @example
 * ```ts
 * const reauthentication: StreamReauthentication<controlplaneV1.TunnelerMessage> = {
 *   credential: () => session.identity,
 *   message: (reauthenticate) => ({ body: { $case: 'reauthenticate', reauthenticate } }),
 * };
 * ```
 */
export interface StreamReauthentication<TOut> {
  /** The certificate chain and key the agent holds now. */
  credential: () => { certificateChainPem: string; privateKeyPem: string };
  /** Wraps a Reauthenticate in this stream's message type. */
  message: (reauthenticate: controlplaneV1.Reauthenticate) => TOut;
}

/**
 * What told a supervised stream that the agent's identity is revoked: a `Revoked` message, or a
 * PERMISSION_DENIED refusal saying so.
 *
 * @example
 * ```ts
 * const onRevoked = (evidence: RevocationEvidence): void => session.revoke({ peer: 'the controller', ...evidence });
 * ```
 */
export interface RevocationEvidence {
  revoked?: controlplaneV1.Revoked;
  refusal?: unknown;
}

/**
 * Options of {@link createStreamSupervisor}.
 *
 * @example
 * ```ts
 * const options: StreamSupervisorOptions<controlplaneV1.AgentMessage, controlplaneV1.ControllerMessage> = {
 *   name: 'control', addresses: () => dialer.addresses, open: (address) => dialer.openConnect(address),
 *   heartbeat: (sequence) => heartbeatMessage(sequence), intervalMs: 10_000, metrics, logger,
 * };
 * ```
 */
export interface StreamSupervisorOptions<TOut, TIn extends SupervisedMessage> {
  /** Names the stream in logs: `control` or `tunnel`. */
  name: string;
  /** Peer addresses in failover order; read at every attempt. */
  addresses: () => readonly string[];
  /** Opens the stream on its own connection, so a new attempt handshakes with the current certificate. */
  open: (address: string) => OpenedStream<TOut, TIn>;
  /** First message after opening (the connector's Hello). */
  greeting?: () => TOut;
  /** The heartbeat with this sequence number (1, 2, ... for the life of the process). */
  heartbeat: (sequence: number) => TOut;
  /** Every message that is not a heartbeat ack, a drain, a revocation or a challenge. */
  onMessage?: (message: TIn) => void;
  /** Each heartbeat ack, after it is counted (the tunneler reads the bundle version the connector knows). */
  onHeartbeatAck?: (ack: { sequence: number; bundleVersion?: number }) => void;
  /**
   * Answers the peer's StreamChallenge after a renewal with the new chain and a possession proof
   * over the latest nonce, so the peer extends the stream to the new certificate's notAfter.
   * Without it challenges are ignored (and the peer ends the stream when the first certificate
   * expires).
   */
  reauthentication?: StreamReauthentication<TOut>;
  /** The peer revoked the identity; the supervisor has ended the stream and stopped retrying. */
  onRevoked?: (evidence: RevocationEvidence) => void;
  /** Up/down transitions (readiness). */
  onStateChange?: (up: boolean) => void;
  intervalMs: number;
  /** Reconnect backoff (full jitter). */
  backoff?: BackoffOptions;
  /** No message from the peer for this long means the stream is dead. Default 3 heartbeat intervals + 5 s. */
  livenessTimeoutMs?: number;
  metrics: AgentMetrics;
  logger: pino.Logger;
}

/**
 * A supervised stream, see {@link createStreamSupervisor}.
 *
 * @example
 * ```ts
 * const control: StreamSupervisor<controlplaneV1.AgentMessage> = createStreamSupervisor(options);
 * control.start();
 * if (!control.up) logger.warn({ event: 'stream.down', address: control.address }, 'stream.down');
 * await control.stop();
 * ```
 */
export interface StreamSupervisor<TOut> {
  start(): void;
  /** Half-closes the stream, waits briefly for the peer, releases the connection, stops retrying. */
  stop(): Promise<void>;
  /** True from the peer's first message until the stream ends. */
  readonly up: boolean;
  /** The address of the current or last stream. */
  readonly address: string | undefined;
  /** Writes a message when the stream is up (the peer has answered); false otherwise. */
  send(message: TOut): boolean;
  /** Ends the stream and reconnects after `reconnectAfterMs` (0: backoff), at the next address. */
  drain(reason: string, reconnectAfterMs: number): void;
  /**
   * Re-authenticates the open stream with the current credential (call it after each renewal):
   * at once when the peer's nonce is at hand, else as soon as it arrives. A no-op when the stream
   * is already bound to the current certificate.
   */
  reauthenticate(): void;
}

/**
 * Keeps one long-lived bidirectional stream alive: opens it, sends the greeting and a heartbeat at
 * once and every `intervalMs` (sequence numbers continue across reconnects, so a peer can spot a
 * gap), counts acks, and on failure, silence or a Drain reconnects to the next address after an
 * exponential backoff with full jitter. The backoff resets once the peer answers. Both agents use
 * it: the connector's ControlPlaneService.Connect and the tunneler's ConnectorService.Tunnel.
 *
 * The peer binds the stream to the certificate it was opened with. After a renewal
 * (`reauthenticate()`) the supervisor answers the peer's latest nonce (StreamChallenge, then each
 * StreamExtended.next_nonce) with the new chain and a possession proof, which extends the stream
 * without a dropped heartbeat. A `Revoked` message, or a PERMISSION_DENIED refusal that says the
 * identity is revoked, ends the stream for good: no retry, `onRevoked` is told.
 *
 * @example
 * ```ts
 * const control = createStreamSupervisor({
 *   name: 'control', addresses: () => config.controllerAddresses, intervalMs: 10_000, metrics, logger,
 *   open: (address) => dialer.openConnect(address),
 *   greeting: () => ({ body: { $case: 'hello', hello: { version, privateIp } } }),
 *   heartbeat: (sequence) => ({ body: { $case: 'heartbeat', heartbeat: { sequence, version, privateIp, sentAt: Date.now(), certificateNotAfter } } }),
 *   onMessage: handleCommand,
 * });
 * control.start();
 * ```
 */
export function createStreamSupervisor<TOut, TIn extends SupervisedMessage>(
  options: StreamSupervisorOptions<TOut, TIn>,
): StreamSupervisor<TOut> {
  const { logger, metrics, name } = options;
  const backoff = createBackoff(options.backoff);
  const livenessMs = options.livenessTimeoutMs ?? options.intervalMs * 3 + 5_000;
  let current: OpenedStream<TOut, TIn> | undefined;
  let address: string | undefined;
  let index = 0;
  let sequence = 0;
  let up = false;
  let stopped = true;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let livenessTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  let drainDelay: number | undefined;
  // Bumped by open(), stop() and each watchForPeer(): a probe answers only for the wait it was
  // started in, never for a later one (a TCP probe can outlive its wait by up to a second).
  let generation = 0;
  let ended: Promise<void> = Promise.resolve();
  let revoked = false;
  // Re-authentication state of the current stream: the chain it is bound to, the peer's unused
  // nonce, and the chain of a Reauthenticate awaiting its StreamExtended.
  let boundChain: string | undefined;
  let nonce: Buffer | undefined;
  let presentedChain: string | undefined;

  const reauthenticate = (): void => {
    const auth = options.reauthentication;
    if (auth === undefined || current === undefined || nonce === undefined) return;
    if (presentedChain !== undefined) return;
    const credential = auth.credential();
    if (credential.certificateChainPem === boundChain) return;
    const signature = createPossessionProof(credential.privateKeyPem, nonce);
    current.stream.write(
      auth.message({ certificateChainPem: credential.certificateChainPem, nonce, signature }),
    );
    presentedChain = credential.certificateChainPem;
    nonce = undefined;
    metrics.streamReauthentications.inc({ result: 'sent' });
    logger.info(
      { event: 'stream.reauthenticating', stream: name, address },
      'stream.reauthenticating',
    );
  };

  const revoke = (evidence: RevocationEvidence): void => {
    if (revoked) return;
    revoked = true;
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = undefined;
    current?.stream.cancel();
    options.onRevoked?.(evidence);
  };

  const setUp = (value: boolean): void => {
    if (up === value) return;
    up = value;
    metrics.streamUp.set(value ? 1 : 0);
    options.onStateChange?.(value);
  };

  const watchLiveness = (stream: grpc.ClientDuplexStream<TOut, TIn>): void => {
    if (livenessTimer) clearTimeout(livenessTimer);
    livenessTimer = setTimeout(() => {
      logger.warn(
        { event: 'stream.silent', stream: name, address, silentMs: livenessMs },
        'stream.silent',
      );
      stream.cancel();
    }, livenessMs);
  };

  const sendHeartbeat = (stream: grpc.ClientDuplexStream<TOut, TIn>): void => {
    sequence += 1;
    stream.write(options.heartbeat(sequence));
    metrics.heartbeatsSent.inc();
  };

  // Probes the next address while a reconnect waits: a peer that was unreachable (the stream
  // failed UNAVAILABLE, or a probe failed) and answers again (a restarted controller) cuts the
  // wait short. A peer that refused the stream and stays reachable keeps the backoff.
  const watchForPeer = (unreachable: boolean): void => {
    generation += 1;
    const watch = generation;
    let sawDown = unreachable;
    const tick = (): void => {
      probeTimer = setTimeout(() => {
        if (watch !== generation) return;
        const addresses = options.addresses();
        const target = addresses[index % addresses.length]!;
        void tcpReachable(target, PEER_PROBE_INTERVAL_MS).then((reachable) => {
          if (watch !== generation || stopped || retryTimer === undefined) return;
          if (!reachable) {
            sawDown = true;
            tick();
            return;
          }
          if (!sawDown) return;
          clearTimeout(retryTimer);
          const delay = Math.floor(Math.random() * PEER_BACK_SPREAD_MS);
          retryTimer = setTimeout(open, delay);
          logger.info(
            { event: 'stream.peer_back', stream: name, address: target, retryInMs: delay },
            'stream.peer_back',
          );
        });
      }, PEER_PROBE_INTERVAL_MS);
      probeTimer.unref();
    };
    tick();
  };

  const open = (): void => {
    generation += 1;
    retryTimer = undefined;
    clearTimeout(probeTimer);
    probeTimer = undefined;
    const addresses = options.addresses();
    address = addresses[index % addresses.length]!;
    logger.debug({ event: 'stream.opening', stream: name, address }, 'stream.opening');
    let opened: OpenedStream<TOut, TIn>;
    try {
      opened = options.open(address);
    } catch (err) {
      finish(err);
      return;
    }
    current = opened;
    boundChain = options.reauthentication?.credential().certificateChainPem;
    nonce = undefined;
    presentedChain = undefined;
    const { stream } = opened;
    let finished = false;
    let resolveEnded: () => void = () => undefined;
    ended = new Promise((resolve) => (resolveEnded = resolve));
    const done = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      opened.close();
      if (current === opened) current = undefined;
      finish(err);
      resolveEnded();
    };
    stream.on('data', (message: TIn) => {
      const body = message.body;
      if (body?.$case === 'revoked') {
        revoke({ revoked: (body as { revoked: controlplaneV1.Revoked }).revoked });
        return;
      }
      watchLiveness(stream);
      if (!up) {
        setUp(true);
        backoff.reset();
        metrics.streamConnects.inc();
        logger.info({ event: 'stream.connected', stream: name, address }, 'stream.connected');
      }
      if (body?.$case === 'heartbeatAck') {
        const ack = (body as { heartbeatAck: { sequence: number; bundleVersion?: number } })
          .heartbeatAck;
        metrics.heartbeatAcks.inc();
        metrics.lastAckedSequence.set(ack.sequence);
        options.onHeartbeatAck?.(ack);
      } else if (body?.$case === 'drain') {
        const drain = (body as { drain: { reason: string; reconnectAfterMs: number } }).drain;
        supervisor.drain(drain.reason, drain.reconnectAfterMs);
      } else if (body?.$case === 'challenge') {
        const challenge = (body as { challenge: controlplaneV1.StreamChallenge }).challenge;
        nonce = Buffer.from(challenge.nonce);
        reauthenticate();
      } else if (body?.$case === 'streamExtended') {
        const extended = (body as { streamExtended: controlplaneV1.StreamExtended }).streamExtended;
        boundChain = presentedChain ?? boundChain;
        presentedChain = undefined;
        nonce = Buffer.from(extended.nextNonce);
        metrics.streamReauthentications.inc({ result: 'extended' });
        logger.info(
          {
            event: 'stream.extended',
            stream: name,
            address,
            notAfter: new Date(extended.notAfter).toISOString(),
          },
          'stream.extended',
        );
        reauthenticate();
      } else {
        options.onMessage?.(message);
      }
    });
    stream.on('error', (err) => done(err));
    stream.on('status', (status: grpc.StatusObject) =>
      done(status.code === 0 ? undefined : status),
    );
    stream.on('end', () => done());
    const greeting = options.greeting?.();
    if (greeting !== undefined) stream.write(greeting);
    sendHeartbeat(stream);
    heartbeatTimer = setInterval(() => sendHeartbeat(stream), options.intervalMs);
    watchLiveness(stream);
  };

  const finish = (err: unknown): void => {
    if (heartbeatTimer) clearInterval(heartbeatTimer);
    if (livenessTimer) clearTimeout(livenessTimer);
    heartbeatTimer = undefined;
    livenessTimer = undefined;
    const wasUp = up;
    setUp(false);
    if (stopped) return;
    if (isRevocationStatus(err)) {
      revoke({ refusal: err });
      return;
    }
    index += 1;
    const drained = drainDelay !== undefined;
    const delay = drainDelay ?? backoff.next();
    drainDelay = undefined;
    metrics.reconnects.inc();
    const reason = err === undefined ? 'stream ended by the peer' : describeServiceError(err);
    logger.warn(
      { event: 'stream.disconnected', stream: name, address, wasUp, reason, retryInMs: delay },
      'stream.disconnected',
    );
    retryTimer = setTimeout(open, delay);
    // A drain's delay is the peer's own wish: never cut short.
    if (!drained && delay > PEER_PROBE_INTERVAL_MS) watchForPeer(isUnavailableStatus(err));
  };

  const supervisor: StreamSupervisor<TOut> = {
    start() {
      if (!stopped) return;
      stopped = false;
      open();
    },
    async stop() {
      stopped = true;
      generation += 1;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      clearTimeout(probeTimer);
      const opened = current;
      if (opened === undefined) return;
      opened.stream.end();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        ended,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000))),
      ]);
      clearTimeout(timer);
      opened.stream.cancel();
      await ended;
    },
    get up() {
      return up;
    },
    get address() {
      return address;
    },
    send(message) {
      // Only on a stream the peer has answered: a message written while a connection attempt is
      // still pending would be lost with it, so the caller keeps it (the connector queues it).
      if (current === undefined || !up) return false;
      current.stream.write(message);
      return true;
    },
    drain(reason, reconnectAfterMs) {
      logger.info(
        { event: 'stream.drain', stream: name, address, reason, reconnectAfterMs },
        'stream.drain',
      );
      drainDelay = reconnectAfterMs > 0 ? reconnectAfterMs : undefined;
      current?.stream.cancel();
    },
    reauthenticate,
  };
  return supervisor;
}
