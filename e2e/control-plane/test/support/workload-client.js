// A workload process for the Workload API tests: talks to SPIFFE_ENDPOINT_SOCKET with
// @sigil/workload-api's client and prints one JSON line per result.
//   x509            the first X509-SVID context (SPIFFE IDs, leaf serials), then exits
//   watch           every X509-SVID context on one stream, until killed
//   jwt <aud>       fetches a JWT-SVID for <aud>, validates it through ValidateJWTSVID and
//                   against the JWT bundle (FetchJWTBundles)
const { X509Certificate } = require('node:crypto');
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
}
