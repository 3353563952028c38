// @sigil/connector: the Sigil connector agent (`sigil-connector enroll|run`). For embedding and
// tests; the command line is bin/sigil-connector.js.
export { startConnectorPart } from './connector';
export { admitTunneler } from './admission';
export { createTunnelService } from './tunnel-service';

export type { ConnectorPart } from './connector';
export type { AdmissionVerdict, AdmissionRequest } from './admission';
export type { TunnelService, TunnelServiceOptions } from './tunnel-service';
