// @sigil/connector: the Sigil connector agent (`sigil-connector enroll|run`). For embedding and
// tests; the command line is bin/sigil-connector.js.
export { startConnectorPart } from './connector';

export type { ConnectorPart } from './connector';
export type { TunnelService } from './tunnel-service';
