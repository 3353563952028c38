import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '@sigil/testing';
import * as grpc from '@grpc/grpc-js';
import { createCertificateSigningRequest, generateKeyPair } from '@sigil/pki';
import type { KeyPair } from '@sigil/pki';
import { controlplaneV1 } from '@sigil/proto';
import { createController } from '../../src/controller';
import type { Controller, ControllerOptions } from '../../src/controller';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** A mutable clock for controllers under test. */
export function testClock(start = new Date()): { now: () => Date; advance: (ms: number) => void } {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

export interface ControllerFixture {
  controller: Controller;
  dataDir: string;
  lines: string[];
  /** Stops the controller (if running) and removes the data dir. */
  cleanup(): Promise<void>;
}

/** A controller on 127.0.0.1:0 in a fresh temp DATA_DIR, started. */
export async function startController(
  options: Partial<ControllerOptions> = {},
): Promise<ControllerFixture> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sigil-controller-'));
  const { logger, lines } = createMemoryLogger();
  const controller = createController({
    trustDomain: 'test.sigil',
    controllerListenAddress: '127.0.0.1:0',
    adminListenAddress: '127.0.0.1:0',
    adminToken: ADMIN_TOKEN,
    logger,
    ...options,
    dataDir,
  });
  await controller.start();
  return {
    controller,
    dataDir,
    lines,
    async cleanup() {
      await controller.stop({ graceMs: 500 });
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Channel credentials that pin `caPem` and optionally present a client certificate. */
export function channelCredentials(
  caPem: string,
  identity?: { chainPem: string; keyPem: string },
): grpc.ChannelCredentials {
  return identity === undefined
    ? grpc.credentials.createSsl(Buffer.from(caPem))
    : grpc.credentials.createSsl(
        Buffer.from(caPem),
        Buffer.from(identity.keyPem),
        Buffer.from(identity.chainPem),
      );
}

/** An Enroll client as an agent builds it: bootstrap trust only, no client certificate. */
export function enrollmentClient(
  address: string,
  caPem: string,
): controlplaneV1.EnrollmentServiceClient {
  return new controlplaneV1.EnrollmentServiceClient(address, channelCredentials(caPem));
}

export function controlPlaneClient(
  address: string,
  caPem: string,
  identity?: { chainPem: string; keyPem: string },
): controlplaneV1.ControlPlaneServiceClient {
  return new controlplaneV1.ControlPlaneServiceClient(address, channelCredentials(caPem, identity));
}

/** Promisifies a grpc-js unary call. */
export function unary<Req, Res>(
  fn: (
    request: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    callback: (err: grpc.ServiceError | null, response?: Res) => void,
  ) => unknown,
  request: Req,
  deadlineMs = 10_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    fn(request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, response) =>
      err === null ? resolve(response!) : reject(err),
    );
  });
}

/** An agent identity: key, CSR and (after enrollment) the certificate chain. */
export interface EnrolledAgent {
  key: KeyPair;
  response: controlplaneV1.EnrollResponse;
  identity: { chainPem: string; keyPem: string };
}

export async function csrFor(key: KeyPair): Promise<string> {
  return createCertificateSigningRequest(key);
}

/** Enrolls with a fresh key (or `key`) over the given client. */
export async function enroll(
  client: controlplaneV1.EnrollmentServiceClient,
  request: {
    token: string;
    kind: 'connector' | 'tunneler';
    agentId: string;
    key?: KeyPair;
    version?: string;
    privateIp?: string;
    /** The agent's send time, unix ms; default 0 (skew not measured). */
    sentAt?: number;
  },
): Promise<EnrolledAgent> {
  const key = request.key ?? (await generateKeyPair('ec-p256'));
  const response = await unary(client.enroll.bind(client), {
    token: request.token,
    kind:
      request.kind === 'connector'
        ? controlplaneV1.AgentKind.AGENT_KIND_CONNECTOR
        : controlplaneV1.AgentKind.AGENT_KIND_TUNNELER,
    agentId: request.agentId,
    csrPem: await csrFor(key),
    version: request.version ?? '1.0.0',
    privateIp: request.privateIp ?? '10.0.0.7',
    sentAt: request.sentAt ?? 0,
  });
  return {
    key,
    response,
    identity: { chainPem: response.certificateChainPem, keyPem: key.privateKeyPem },
  };
}

/** Creates a token through the controller and enrolls with it. */
export async function enrollNew(
  controller: Controller,
  kind: 'connector' | 'tunneler',
  agentId: string,
  connectorId?: string,
): Promise<EnrolledAgent> {
  const { token } = await controller.createEnrollmentToken({
    kind,
    id: agentId,
    ...(connectorId === undefined ? {} : { connectorId }),
  });
  const client = enrollmentClient(controller.grpcAddress, controller.bootstrapCaPem);
  try {
    return await enroll(client, { token, kind, agentId });
  } finally {
    client.close();
  }
}

/** A call to the admin API. */
export async function admin(
  controller: Controller,
  path: string,
  init: { method?: string; body?: unknown; rawBody?: string; token?: string | null } = {},
): Promise<{ status: number; headers: Headers; json: unknown; text: string }> {
  const headers: Record<string, string> = {};
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${controller.adminUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Collects the messages of a Connect stream. */
export class StreamRecorder {
  readonly messages: controlplaneV1.ControllerMessage[] = [];
  private waiters: Array<() => void> = [];
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;
  ended = false;

  constructor(
    readonly call: grpc.ClientDuplexStream<
      controlplaneV1.AgentMessage,
      controlplaneV1.ControllerMessage
    >,
  ) {
    call.on('data', (m: controlplaneV1.ControllerMessage) => this.push(m));
    call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.wake();
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.wake();
    });
    call.on('end', () => {
      this.ended = true;
      this.wake();
    });
  }

  private push(m: controlplaneV1.ControllerMessage): void {
    this.messages.push(m);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Waits until `predicate` holds over the recorded state (10 s at most). */
  async until(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.messages.map((m) => m.body?.$case))}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  /** Waits for a message of `kind` beyond the first `after` messages and returns it. */
  async next<C extends NonNullable<controlplaneV1.ControllerMessage['body']>['$case']>(
    kind: C,
    after = 0,
  ): Promise<
    controlplaneV1.ControllerMessage & {
      body: Extract<controlplaneV1.ControllerMessage['body'], { $case: C }>;
    }
  > {
    let found: controlplaneV1.ControllerMessage | undefined;
    await this.until(
      () => (found = this.messages.slice(after).find((m) => m.body?.$case === kind)) !== undefined,
      kind,
    );
    return found as controlplaneV1.ControllerMessage & {
      body: Extract<controlplaneV1.ControllerMessage['body'], { $case: C }>;
    };
  }

  count(kind: string): number {
    return this.messages.filter((m) => m.body?.$case === kind).length;
  }
}

/**
 * Waits (10 s at most) for the `audit.refusals_summary` rows to count at least `atLeast`
 * refusals of `action`, and returns the counters for it (unauthenticated refusals are summarised,
 * not written one by one). Start the controller with a short `auditSummaryIntervalSeconds`.
 */
export async function summarisedRefusals(
  controller: Controller,
  action: string,
  atLeast = 1,
): Promise<Array<{ action: string; reason: string; address_prefix: string; count: number }>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const rows = await controller.store.listAudit({
      limit: 1000,
      action: 'audit.refusals_summary',
    });
    const counters = rows
      .flatMap(
        (r) =>
          r.details.counts as Array<{
            action: string;
            reason: string;
            address_prefix: string;
            count: number;
          }>,
      )
      .filter((c) => c.action === action);
    if (counters.reduce((n, c) => n + c.count, 0) >= atLeast) return counters;
    if (Date.now() > deadline)
      throw new Error(`no audit.refusals_summary counted ${atLeast} ${action} refusals in 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
