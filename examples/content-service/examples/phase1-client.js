#!/usr/bin/env node
// Walks the phase-1 chain from outside, the way docs/sample-services.md runs it locally:
// as spiffe://<td>/client/admin it creates a user (user-service) and a session token
// (identity-service); as spiffe://<td>/client/web it watches and creates posts (content-service,
// which resolves the author through user-service, which validates the token with identity-service).
//
//   CERTS_DIR=./certs SIGIL_TRUST_DOMAIN=example.org node examples/content-service/examples/phase1-client.js
'use strict';
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const { SigilError } = require('@sigil/errors');
const { contentV1, identityV1, userV1 } = require('@sigil/proto');
const { createUpstream, identityEnv, loadUpstreamConfig } = require('@sigil/grpc-service');
const { createLogger, runMain } = require('@sigil/runtime');

const certsDir = path.resolve(process.env.CERTS_DIR || 'certs');
const trustDomain = process.env.SIGIL_TRUST_DOMAIN || 'example.org';
// Errors end in one line on stderr (runMain); LOG_LEVEL=warn shows the retries and warnings too.
const logger = createLogger({ name: 'phase1-client', level: process.env.LOG_LEVEL || 'error' });

function filesOf(name) {
  const dir = path.join(certsDir, name);
  return {
    certificate: path.join(dir, 'tls.crt'),
    privateKey: path.join(dir, 'tls.key'),
    ca: path.join(dir, 'ca.crt'),
  };
}

/**
 * An upstream whose `call` passes every status through, and says which address (and variable)
 * to fix when nothing answers there, instead of a bare UNAVAILABLE.
 */
async function connect(Client, as, service, variable, defaultAddress) {
  const address = process.env[variable] || defaultAddress;
  const env = { ...process.env, ...identityEnv(filesOf(as)), [variable]: address };
  const upstream = await createUpstream(Client, {
    config: loadUpstreamConfig(env, { name: service, variable, defaultAddress, trustDomain }),
    logger,
  });
  const explain = (err) => {
    if (err === null || typeof err !== 'object' || err.code !== grpc.status.UNAVAILABLE) return err;
    const reason = String(err.details).replace(/\.? Resolution note: ?$/, '');
    const refused = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|No connection established/.test(reason);
    return new SigilError(
      'ERR_SERVICE_UNREACHABLE',
      refused
        ? `nothing listens at ${address} (${variable}): start ${service} there, or set ${variable} to its address (UNAVAILABLE: ${reason})`
        : `${service} at ${address} (${variable}) is unavailable: ${reason}`,
      { cause: err, details: { service, address, variable } },
    );
  };
  return {
    client: upstream.client,
    call: (method, request) =>
      upstream.call(method, request, { passThrough: 'all' }).catch((err) => {
        throw explain(err);
      }),
    close: () => upstream.close(),
  };
}

runMain(
  async () => {
    const users = await connect(
      userV1.UserServiceClient,
      'admin',
      'user-service',
      'USER_SERVICE_ADDR',
      'localhost:50052',
    );
    const identity = await connect(
      identityV1.IdentityServiceClient,
      'admin',
      'identity-service',
      'IDENTITY_SERVICE_ADDR',
      'localhost:50051',
    );
    const content = await connect(
      contentV1.ContentServiceClient,
      'web',
      'content-service',
      'CONTENT_SERVICE_ADDR',
      'localhost:50053',
    );
    try {
      const email = `ada+${Date.now()}@acme.test`;
      const ada = await users.call('createUser', {
        tenantId: 'acme',
        displayName: 'Ada Lovelace',
        email,
      });
      console.log(`created user ${ada.id} (${ada.displayName}) in tenant ${ada.tenantId}`);
      const { token, expiresAt } = await identity.call('issueToken', {
        userId: ada.id,
        tenantId: 'acme',
        ttlSeconds: 600,
      });
      console.log(
        `issued a session token for ${ada.id}, valid until ${new Date(expiresAt).toISOString()}`,
      );

      // backlog 1: the stream also replays the newest post, should it land before the subscription.
      const watch = content.client.watchPosts({ backlog: 1, sessionToken: token });
      const streamed = new Set();
      let onPost = () => undefined;
      watch.on('data', (post) => {
        console.log(`watch: #${post.sequence} "${post.title}" by ${post.authorName}`);
        streamed.add(post.id);
        onPost();
      });
      const failed = new Promise((_resolve, reject) => watch.on('error', reject));
      const created = await content.call('createPost', {
        authorId: ada.id,
        sessionToken: token,
        title: 'Hello over mTLS',
        body: 'three hops, three SPIFFE IDs',
      });
      console.log(`created post ${created.id} (#${created.sequence}) by ${created.authorName}`);
      const seen = new Promise((resolve) => {
        onPost = () => {
          if (streamed.has(created.id)) resolve();
        };
        onPost();
      });
      await Promise.race([seen, failed]);
      watch.cancel();
    } finally {
      users.close();
      identity.close();
      content.close();
    }
  },
  // No logger: a failure is the one `error CODE: message` line on stderr, not a logged stack.
  {},
);
