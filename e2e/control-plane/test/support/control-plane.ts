// End-to-end fixtures for the agents: a real controller on 127.0.0.1 (in this process, embedded
// store in a temp dir, built from the controller's public API), and connectors/tunnelers started
// as the bins start them, from a typed config parsed from an env object.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger, waitFor } from '@sigil/testing';
import type { Registry } from 'prom-client';
import {
  resolveAgentConfig,
  startAgent,
  type RunningAgent,
  type AgentConfig,
  type AgentKind,
  type AgentRuntimeOptions,
} from '@sigil/agent';
import { createCertificateAuthority } from '@sigil/pki';
import { startConnectorPart, type ConnectorPart } from '@sigil/connector';
import { createController, type Controller, type ControllerOptions } from '@sigil/controller';

export type RunningConnector = RunningAgent<ConnectorPart>;

export const VERSION = '0.1.0-test';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

interface ControllerFixture {
  controller: Controller;
  lines: string[];
  /** Stops the controller; its data dir stays (the control-plane fixture owns it). */
  cleanup(): Promise<void>;
}

/** A controller on 127.0.0.1:0 (unless `options` say otherwise) in `options.dataDir`, started. */
async function startController(
  options: Partial<ControllerOptions> & { dataDir: string },
): Promise<ControllerFixture> {
  const { logger, lines } = createMemoryLogger();
  const controller = createController({
    trustDomain: 'test.sigil',
    controllerListenAddress: '127.0.0.1:0',
    adminListenAddress: '127.0.0.1:0',
    adminToken: ADMIN_TOKEN,
    logger,
    ...options,
  });
  await controller.start();
  return {
    controller,
    lines,
    cleanup: () => controller.stop({ graceMs: 500 }),
  };
}

/** The value of a counter or gauge, or the count of a histogram, summed over the label sets matching `labels`. */
export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const found = registry.getSingleMetric(name);
  if (found === undefined) throw new Error(`no metric ${name}`);
  const { values } = await found.get();
  const histogram = values.some((v) => 'metricName' in v && v.metricName !== undefined);
  return values
    .filter((v) => !histogram || ('metricName' in v && v.metricName === `${name}_count`))
    .filter((v) => Object.entries(labels).every(([key, want]) => String(v.labels[key]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** A controller plus a temp directory for agent state and CA files. */
export interface ControlPlaneFixture {
  controller: Controller;
  dataDir: string;
  /** Scratch directory for state dirs and other files, removed by cleanup. */
  scratch: string;
  /** The controller's logs (of the current controller, after a restart). */
  readonly lines: string[];
  /** Env for an agent of `kind`, enrolling with a fresh token and a fresh STATE_DIR. */
  enrollEnv(
    kind: AgentKind,
    id: string,
    extra?: { connectorId?: string; env?: Record<string, string>; labels?: string[] },
  ): Promise<Record<string, string>>;
  /**
   * Env for an agent of `kind` enrolling with `token` (made elsewhere, e.g. in the console) and a
   * fresh STATE_DIR.
   */
  agentEnv(
    kind: AgentKind,
    id: string,
    token: string,
    env?: Record<string, string>,
  ): Record<string, string>;
  /** A config for `command`, parsed from `env` as the bins do. */
  config(
    kind: AgentKind,
    command: 'enroll' | 'run',
    env: Record<string, string | undefined>,
    ephemeral?: boolean,
  ): AgentConfig;
  /** Runtime options with a fresh memory logger (kept in `agentLines`). */
  runtime(config: AgentConfig): AgentRuntimeOptions;
  agentLines: string[];
  /** Starts a connector from env (tracked and stopped by cleanup). */
  startConnector(
    env: Record<string, string | undefined>,
    ephemeral?: boolean,
  ): Promise<RunningConnector>;
  /** Stops the controller (its data dir stays). */
  stopController(): Promise<void>;
  /** Starts a new controller on the address and data dir of the stopped one. */
  startControllerAgain(): Promise<void>;
  /** stopController() then startControllerAgain(). */
  restartController(): Promise<void>;
  /** Tracks anything with stop() for cleanup. */
  track<T extends { stop(): Promise<void> }>(agent: T): T;
  cleanup(): Promise<void>;
}

export async function startControlPlane(
  options: Partial<ControllerOptions> = {},
): Promise<ControlPlaneFixture> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'sigil-agent-e2e-'));
  const dataDir = path.join(scratch, 'controller');
  const controllerOptions: Partial<ControllerOptions> & { dataDir: string } = {
    trustDomain: 'e2e.sigil',
    ...options,
    dataDir,
  };
  let current: ControllerFixture = await startController(controllerOptions);
  let address = current.controller.grpcAddress;
  const agentLog = createMemoryLogger();
  const tracked: { stop(): Promise<void> }[] = [];
  let stateDirs = 0;

  const fixture: ControlPlaneFixture = {
    get controller() {
      return current.controller;
    },
    dataDir,
    scratch,
    get lines() {
      return current.lines;
    },
    agentLines: agentLog.lines,
    async enrollEnv(kind, id, extra = {}) {
      const { controller } = current;
      const { token } = await controller.createEnrollmentToken({
        kind,
        id,
        ...(extra.connectorId === undefined ? {} : { connectorId: extra.connectorId }),
        ...(extra.labels === undefined ? {} : { labels: extra.labels }),
      });
      return fixture.agentEnv(kind, id, token, extra.env);
    },
    agentEnv(kind, id, token, env = {}) {
      const { controller } = current;
      stateDirs += 1;
      return {
        ENROLLMENT_TOKEN: token,
        CONTROLLER_ADDR: controller.grpcAddress,
        CONTROLLER_CA_PATH: controller.bootstrapCaPath,
        [kind === 'connector' ? 'CONNECTOR_ID' : 'TUNNELER_ID']: id,
        STATE_DIR: path.join(scratch, `state-${stateDirs}-${id}`),
        AGENT_HTTP_ADDR: '127.0.0.1:0',
        HEARTBEAT_INTERVAL: '100ms',
        RECONNECT_BACKOFF_INITIAL: '50ms',
        RECONNECT_BACKOFF_MAX: '500ms',
        PRIVATE_IP: '10.9.8.7',
        // Not the machine-wide default socket: suites that serve it give their own path.
        ...(kind === 'connector'
          ? { CONNECTOR_LISTEN_ADDR: '127.0.0.1:0', SIGIL_WORKLOAD_API_SOCKET: 'off' }
          : {}),
        ...env,
      };
    },
    config: (kind, command, env, ephemeral = false) =>
      resolveAgentConfig({ kind, command, env, ephemeral }),
    runtime: (config) => ({ config, version: VERSION, logger: agentLog.logger }),
    async startConnector(env, ephemeral = false) {
      const config = resolveAgentConfig({ kind: 'connector', command: 'run', env, ephemeral });
      return fixture.track(await startAgent(fixture.runtime(config), startConnectorPart));
    },
    async stopController() {
      address = current.controller.grpcAddress;
      await current.cleanup();
    },
    async startControllerAgain() {
      current = await startController({ ...controllerOptions, controllerListenAddress: address });
    },
    async restartController() {
      await fixture.stopController();
      await fixture.startControllerAgain();
    },
    track(agent) {
      tracked.push(agent);
      return agent;
    },
    async cleanup() {
      for (const agent of tracked.splice(0).reverse()) await agent.stop().catch(() => undefined);
      await current.cleanup().catch(() => undefined);
      rmSync(scratch, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Writes the certificate of a fresh, unrelated CA: what an agent must NOT trust the controller with. */
export async function writeForeignCa(directory: string): Promise<string> {
  const ca = await createCertificateAuthority({
    trustDomain: 'e2e.sigil',
    commonName: 'Impostor CA',
  });
  const file = path.join(directory, 'impostor-ca.crt');
  writeFileSync(file, ca.certificatePem);
  return file;
}

/**
 * Calls the admin API of the fixture's current controller with the admin token: the status and
 * the parsed JSON body.
 */
export async function adminRequest<T = unknown>(
  fx: ControlPlaneFixture,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${fx.controller.adminUrl}/api/admin/${route}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as T };
}

/**
 * Waits until `GET /api/admin/ca` reports that every agent acknowledged the bundle carrying the
 * prepared root (`activation.basis` `acknowledged`), so `POST /api/admin/ca/activate` may go ahead.
 */
export async function waitForRootAcknowledged(
  fx: ControlPlaneFixture,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    'every agent acknowledging the new root',
    async () =>
      (await adminRequest<{ activation?: { basis?: string } }>(fx, 'GET', 'ca')).body.activation
        ?.basis === 'acknowledged'
        ? true
        : undefined,
    timeoutMs,
  );
}
