// The sigil.controlplane.v1 package as generated, and the Forward data-path codec of
// forward-frame-wire.ts (same wire format) with the ConnectorService definition and client on it.
export * from './gen/sigil/controlplane/v1/controlplane';
export {
  ConnectorServiceDataPathClient,
  ConnectorServiceDataPathService,
  decodeForwardFrame,
  encodeForwardFrame,
} from './forward-frame-wire';
