// HEALTHCHECK of the Sigil images: GET /healthz on this container's plain-HTTP health port, the
// port of the listen address in <VARIABLE> (or <default host:port> when it is unset).
//   node /opt/sigil/healthcheck.js <VARIABLE> <default host:port>
// Exit 0 when healthy, 1 otherwise (what HEALTHCHECK expects). Node 20's fetch: no curl in the image.
'use strict';
/* global fetch, AbortSignal -- Node 20 globals */

const [variable, fallback] = process.argv.slice(2);
const address = process.env[variable] || fallback;
const port = Number(address.slice(address.lastIndexOf(':') + 1));
fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
