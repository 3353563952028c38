#!/usr/bin/env node
// Server half of bench/grpc-tls.bench.js, in its own process: three gRPC servers with the same
// unary echo handler on 127.0.0.1:0 —
//   plain  grpc-js, plaintext, no interceptors (the throughput baseline);
//   stock  grpc-js ServerCredentials.createSsl, mutual TLS, no interceptors (reference);
//   sigil  @sigil/grpc-tls createServerCredentials (mutual TLS, rotation, handshake metrics)
//          plus @sigil/interceptors createAuthorizationInterceptor admitting the bench client;
//   bare   the same Sigil credentials without interceptors (splits the cost of the two).
// Prints one JSON line with the ports, answers `cpu` lines on stdin with its CPU time, and serves
// until stdin closes.
'use strict';
const path = require('node:path');
const { createRequire } = require('node:module');
const { readFileSync } = require('node:fs');
const readline = require('node:readline');
const { createServerCredentials, loadServerTlsConfig } = require('@sigil/grpc-tls');
const { createAuthorizationInterceptor, loadAuthorizationPolicy } = require('@sigil/interceptors');

const fromGrpcTls = createRequire(require.resolve('@sigil/grpc-tls/package.json'));
const grpc = fromGrpcTls('@grpc/grpc-js');
const pino = fromGrpcTls('pino');
const { Registry } = fromGrpcTls('prom-client');

const [dir, clientId] = process.argv.slice(2);
const echo = {
  echo: {
    path: '/sigil.bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};
const handlers = { echo: (call, callback) => callback(null, call.request) };

function bind(server, credentials) {
  server.addService(echo, handlers);
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

async function main() {
  const logger = pino({ level: 'silent' });
  const registry = new Registry();
  const servers = [];

  const plain = new grpc.Server();
  servers.push(plain);
  const plainPort = await bind(plain, grpc.ServerCredentials.createInsecure());

  const stock = new grpc.Server();
  servers.push(stock);
  const read = (name) => readFileSync(path.join(dir, name));
  const stockPort = await bind(
    stock,
    grpc.ServerCredentials.createSsl(
      read('ca.crt'),
      [{ cert_chain: read('tls.crt'), private_key: read('tls.key') }],
      true,
    ),
  );

  const tls = await createServerCredentials(
    loadServerTlsConfig({ dir, env: {}, reloadOnSighup: false }),
    { logger, registry },
  );
  const policy = loadAuthorizationPolicy({
    rules: [{ name: 'bench-client', methods: ['*'], callers: [clientId] }],
  });
  const sigil = new grpc.Server({
    interceptors: [createAuthorizationInterceptor({ policy, logger, registry })],
  });
  servers.push(sigil);
  const sigilPort = await bind(sigil, tls.credentials);

  const sigilBare = new grpc.Server();
  servers.push(sigilBare);
  const sigilBarePort = await bind(sigilBare, tls.credentials);

  process.stdout.write(`${JSON.stringify({ plainPort, stockPort, sigilPort, sigilBarePort })}\n`);
  // `cpu` on stdin asks for this process's CPU time, so the bench can account for both sides.
  const commands = readline.createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    if (line === 'cpu') process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
  });
  commands.on('close', () => {
    tls.close();
    for (const server of servers) server.forceShutdown();
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
