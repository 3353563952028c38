// Signing keys, tokens and JWKS (file and local HTTP URL) for the JWT tests.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { JSONWebKeySet, JWTPayload, KeyLike } from 'jose';

export const ISSUER = 'https://auth.example.org/';
export const AUDIENCE = 'sigil';

export interface TokenOptions {
  /** Seconds since the epoch; default one hour from now; null for a token without `exp`. */
  exp?: number | null;
  /** Seconds since the epoch; default now; null for a token without `iat`. */
  iat?: number | null;
  audience?: string;
  issuer?: string;
}

export interface TokenIssuer {
  readonly jwks: JSONWebKeySet;
  sign(claims: JWTPayload, options?: TokenOptions): Promise<string>;
  /** Writes the public JWKS to `dir/jwks.json` and returns the path. */
  writeJwks(dir: string): string;
}

export async function createTokenIssuer(kid = 'test-key'): Promise<TokenIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwks: JSONWebKeySet = {
    keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }],
  };
  return {
    jwks,
    sign: (claims, options = {}) => sign(privateKey, kid, claims, options),
    writeJwks: (dir) => {
      const path = join(dir, 'jwks.json');
      writeFileSync(path, JSON.stringify(jwks));
      return path;
    },
  };
}

function sign(
  key: KeyLike,
  kid: string,
  claims: JWTPayload,
  options: TokenOptions,
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(options.issuer ?? ISSUER)
    .setAudience(options.audience ?? AUDIENCE);
  if (options.iat !== null) jwt.setIssuedAt(options.iat);
  if (options.exp !== null)
    jwt.setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 3600);
  return jwt.sign(key);
}

export interface JwksServer {
  readonly url: string;
  /** How many times the JWKS was fetched. */
  readonly fetches: () => number;
  close(): Promise<void>;
}

/** Serves `jwks` at http://127.0.0.1:<ephemeral>/jwks.json. */
export async function serveJwks(jwks: JSONWebKeySet): Promise<JwksServer> {
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Metadata carrying `authorization: Bearer <token>`. */
export function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}
