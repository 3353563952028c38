// The demo's workload: gets its X509-SVID from the connector's Workload API socket
// (SPIFFE_ENDPOINT_SOCKET) and logs every SVID the stream pushes (one JSON line each).
const { X509Certificate } = require('node:crypto');
const path = require('node:path');
const { createWorkloadApiClient, parseWorkloadApiEndpoint } = require(
  path.join(__dirname, '..', 'packages', 'workload-api'),
);

const client = createWorkloadApiClient({
  endpoint: parseWorkloadApiEndpoint(process.env.SPIFFE_ENDPOINT_SOCKET),
});
const log = (fields) =>
  process.stdout.write(`${JSON.stringify({ time: Date.now(), ...fields })}\n`);
client.watchX509Context({
  onUpdate: ({ svids }) => {
    const [svid] = svids;
    const leaf = new X509Certificate(svid.certificateChainPem);
    log({
      event: 'workload.svid',
      spiffeId: svid.spiffeId,
      serial: leaf.serialNumber,
      notAfter: leaf.validTo,
    });
  },
  onError: (err) => log({ event: 'workload.error', code: err.code, message: err.message }),
});
process.on('SIGTERM', () => process.exit(0));
