// @peculiar/x509 v2 uses tsyringe decorators and needs reflect-metadata loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

// Node's built-in WebCrypto is the default provider (measured faster than @peculiar/webcrypto,
// see docs/benchmarks.md); it can be swapped with setCryptoProvider().
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
