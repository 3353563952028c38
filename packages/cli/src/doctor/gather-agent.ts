// The I/O of `sigil doctor agent`: the identity in STATE_DIR loaded by @sigil/agent's own identity
// store (the loading the agent does at start-up), then a connection to each controller address
// enrollment persisted, trusting what the agent trusts (its bundle and the pinned controller CA).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIdentityStore, STATE_FILES } from '@sigil/agent';
import { parseListenAddress } from '@sigil/runtime';
import type { AgentIdentity, AgentKind } from '@sigil/agent';
import { factError } from './catalogue';
import type { FactError } from './catalogue';
import { gatherConnectFacts } from './gather-connect';
import type { ConnectFacts } from './gather-connect';

/** What `doctor agent` found. */
export interface AgentFacts {
  stateDir: string;
  /** The identity, `undefined` when STATE_DIR holds none (not enrolled), or why it does not load. */
  identity: { value: AgentIdentity | undefined } | { error: FactError };
  /** One per persisted controller address. */
  controllers: ConnectFacts[];
}

/** Options of {@link gatherAgentFacts}. */
export interface GatherAgentOptions {
  stateDir: string;
  /** The agent kind; default the kind agent.json records (connector when it cannot be read). */
  kind?: AgentKind;
  timeoutMs: number;
  clock: () => Date;
}

/** Loads the identity, then reaches each controller with it. */
export async function gatherAgentFacts(options: GatherAgentOptions): Promise<AgentFacts> {
  const { stateDir } = options;
  const kind = options.kind ?? recordedKind(stateDir);
  let identity: AgentIdentity | undefined;
  try {
    identity = await createIdentityStore({ kind, stateDir }).load();
  } catch (err) {
    return { stateDir, identity: { error: factError(err) }, controllers: [] };
  }
  const controllers: ConnectFacts[] = [];
  for (const address of identity?.controllerAddresses ?? []) {
    let host: string;
    let port: number;
    try {
      ({ host, port } = parseListenAddress(address, `${STATE_FILES.metadata} controller_addrs`));
    } catch (err) {
      controllers.push({
        address,
        presentedClientCertificate: true,
        hadCa: true,
        probe: { error: factError(err) },
        checkedAt: options.clock(),
      });
      continue;
    }
    controllers.push(
      await gatherConnectFacts({
        host,
        port,
        caPem: `${identity!.bundlePem.trim()}\n${identity!.controllerCaPem.trim()}\n`,
        certificatePem: identity!.certificateChainPem,
        keyPem: identity!.privateKeyPem,
        timeoutMs: options.timeoutMs,
        clock: options.clock,
      }),
    );
  }
  return { stateDir, identity: { value: identity }, controllers };
}

function recordedKind(stateDir: string): AgentKind {
  try {
    const { kind } = JSON.parse(readFileSync(join(stateDir, STATE_FILES.metadata), 'utf8')) as {
      kind?: unknown;
    };
    return kind === 'tunneler' ? 'tunneler' : 'connector';
  } catch {
    // The identity store's load says what is wrong with the directory.
    return 'connector';
  }
}
