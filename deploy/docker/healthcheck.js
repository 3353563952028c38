// HEALTHCHECK of the Sigil images: GET /healthz on this container's health port, the port of the
// listen address in <VARIABLE> (or <default host:port> when it is unset).
//   node /opt/sigil/healthcheck.js <VARIABLE> <default host:port>
// Exit 0 when healthy, 1 otherwise (what HEALTHCHECK expects). Plain HTTP first; a port that
// serves HTTPS (the controller's admin API with ADMIN_TLS) is asked again over TLS, without
// verifying the certificate: this is a liveness check on loopback that sends no credential.
'use strict';

const http = require('node:http');
const https = require('node:https');

const [variable, fallback] = process.argv.slice(2);
const address = process.env[variable] || fallback;
const port = Number(address.slice(address.lastIndexOf(':') + 1));

function check(client, extra) {
  return new Promise((resolve) => {
    const request = client.get(
      { host: '127.0.0.1', port, path: '/healthz', timeout: 1500, ...extra },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

check(http, {})
  .then((ok) => ok || check(https, { rejectUnauthorized: false }))
  .then((ok) => process.exit(ok ? 0 : 1));
