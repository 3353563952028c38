import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// The shared SPIFFE vectors live beside the repository (CI clones it with ../shared next to it):
// <repo>/packages/pki/test/support -> <repo>/../shared/conformance.
const CONFORMANCE_DIR = resolve(__dirname, '../../../../../shared/conformance');

/** Reads one of the shared conformance files, at test time. */
export function readConformance<T>(name: 'spiffe-ids.json' | 'x509-svid.json'): T {
  return JSON.parse(readFileSync(resolve(CONFORMANCE_DIR, name), 'utf8')) as T;
}

export interface SpiffeIdVector {
  id: string;
  valid: boolean;
  note: string;
}

export interface X509SvidVector {
  name: string;
  rule: string;
  expect: 'accept' | 'reject';
  trustDomain: string;
  at: string;
  chain: string[];
  bundle: string[];
  spiffeId?: string;
}
