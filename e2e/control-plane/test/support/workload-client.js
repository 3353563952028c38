// A workload process for the Workload API tests: talks to SPIFFE_ENDPOINT_SOCKET with
// @sigil/workload-api's client and prints one JSON line per result.
//   x509            the first X509-SVID context (SPIFFE IDs, leaf serials), then exits
//   watch           every X509-SVID context on one stream, until killed
//   jwt <aud>       fetches a JWT-SVID for <aud>, validates it through ValidateJWTSVID and
//                   against the JWT bundle (FetchJWTBundles)
//   rotation        one FetchX509SVID and one FetchX509Bundles stream, opened once and never
//                   reopened: every message (leaf serial, the root that signed it, the roots of
//                   the bundle), and `stream_ended` if either stream ends
const { X509Certificate } = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const { spiffeWorkload } = require('@sigil/proto');
const {
  createWorkloadApiClient,
  parseWorkloadApiEndpoint,
  validateJwtSvid,
} = require('@sigil/workload-api');

const client = createWorkloadApiClient({
  endpoint: parseWorkloadApiEndpoint(process.env.SPIFFE_ENDPOINT_SOCKET),
});
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const summary = (context) => ({
  event: 'x509',
  uid: process.getuid(),
  svids: context.svids.map((s) => ({
    spiffeId: s.spiffeId,
    serial: new X509Certificate(s.certificateChainPem).serialNumber,
  })),
  trustDomains: [...context.bundles.keys()],
});
/** The certificates of a concatenated DER sequence (the Workload API's chain and bundle form). */
const certificatesOf = (der) => {
  const certificates = [];
  for (let at = 0; at < der.length;) {
    let length = der[at + 1];
    let header = 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      length = 0;
      for (let k = 0; k < octets; k += 1) length = length * 256 + der[at + 2 + k];
      header += octets;
    }
    certificates.push(new X509Certificate(der.subarray(at, at + header + length)));
    at += header + length;
  }
  return certificates;
};
const rootsOf = (der) => certificatesOf(der).map((c) => c.fingerprint256);
const fail = (err) => {
  print({ event: 'error', code: err.code, message: err.message });
  process.exit(1);
};

const [mode, audience] = process.argv.slice(2);
if (mode === 'x509') {
  client.fetchX509Context().then((context) => {
    print(summary(context));
    client.close();
  }, fail);
} else if (mode === 'watch') {
  client.watchX509Context({
    onUpdate: (context) => print(summary(context)),
    onError: (err) => print({ event: 'error', code: err.code, message: err.message }),
  });
} else if (mode === 'jwt') {
  (async () => {
    const [svid] = await client.fetchJwtSvids([audience]);
    const validated = await client.validateJwtSvid(svid.svid, audience);
    const wrong = await client.validateJwtSvid(svid.svid, 'someone-else').catch((err) => err.code);
    const bundles = await client.fetchJwtBundles();
    const local = await validateJwtSvid(svid.svid, { audience, bundle: (td) => bundles.get(td) });
    print({
      event: 'jwt',
      spiffeId: svid.spiffeId,
      token: svid.svid,
      validated,
      wrong,
      locally: local.spiffeId,
    });
    client.close();
  })().catch(fail);
} else if (mode === 'rotation') {
  // Raw streams, not the client's watch (which reopens a stream that ended): an update must
  // arrive on the stream first opened.
  const raw = new spiffeWorkload.SpiffeWorkloadAPIClient(
    process.env.SPIFFE_ENDPOINT_SOCKET,
    grpc.credentials.createInsecure(),
  );
  const metadata = () => {
    const m = new grpc.Metadata();
    m.set('workload.spiffe.io', 'true');
    return m;
  };
  const ended = (stream) => (err) =>
    print({ event: 'stream_ended', stream, code: err ? err.code : 'end', message: err?.details });
  const svids = raw.fetchX509Svid({}, metadata());
  svids.on('data', (response) => {
    const svid = response.svids[0];
    const [leaf] = certificatesOf(svid.x509Svid);
    const roots = certificatesOf(svid.bundle);
    print({
      event: 'svid_update',
      spiffeId: svid.spiffeId,
      serial: leaf.serialNumber,
      signedBy: roots.find((root) => leaf.verify(root.publicKey))?.fingerprint256 ?? null,
      roots: roots.map((root) => root.fingerprint256),
    });
  });
  svids.on('error', ended('x509_svid'));
  svids.on('end', ended('x509_svid'));
  const bundles = raw.fetchX509Bundles({}, metadata());
  bundles.on('data', (response) =>
    print({
      event: 'bundles_update',
      bundles: Object.fromEntries(
        Object.entries(response.bundles).map(([td, der]) => [td, rootsOf(der)]),
      ),
    }),
  );
  bundles.on('error', ended('x509_bundles'));
  bundles.on('end', ended('x509_bundles'));
}
