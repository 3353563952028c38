// @peculiar/x509 v2 uses tsyringe decorators and needs reflect-metadata loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

/** The WebCrypto shape @peculiar/x509 expects (node:crypto's webcrypto or @peculiar/webcrypto). */
export type WebCrypto = Pick<webcrypto.Crypto, 'subtle' | 'getRandomValues'>;

let provider: WebCrypto = webcrypto;

// Node's built-in WebCrypto is the default provider: bench/pki.bench.js measures it against
// @peculiar/webcrypto (see docs/benchmarks.md). setCryptoProvider() swaps it.
x509.cryptoProvider.set(provider as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Sets the WebCrypto implementation used by @peculiar/x509 and by Sigil's key conversions. */
export function setProvider(next: WebCrypto): void {
  provider = next;
  x509.cryptoProvider.set(next as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
}

/** The WebCrypto implementation currently in use. */
export function currentProvider(): WebCrypto {
  return provider;
}

export { x509 };
