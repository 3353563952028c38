import { Option } from 'commander';
import { KEY_TYPES } from '@sigil/pki';
import type { KeyType } from '@sigil/pki';
import { flagParser, parseChoice, parseDurationIn } from './parse';

/**
 * Key types `sigil` creates CAs and keys with: every key type of @sigil/pki. Ed25519 works with
 * Node, grpc-js, OpenSSL 3 and Go in TLS 1.2 and 1.3, not with web browsers (docs/pki.md).
 *
 * @example
 * ```ts
 * const keyType: CliKeyType = 'ec-p384';
 * await initCertificateAuthority({ out: './ca', trustDomain: 'example.org', keyType });
 * ```
 */
export type CliKeyType = KeyType;

/** Default lifetime of a certificate `sigil` issues: 24 hours. */
export const DEFAULT_TTL_SECONDS = 86_400;

/** The `--key-type` flag of the commands that create keys. */
export function keyTypeOption(description: string): Option {
  return new Option('--key-type <type>', `${description}: ${KEY_TYPES.join(', ')}`)
    .argParser(flagParser('--key-type', parseChoice(KEY_TYPES, 'a key type')))
    .default('ec-p256');
}

/** The `--ttl` flag of the commands that issue certificates, in seconds. */
export function ttlOption(description: string): Option {
  return new Option('--ttl <duration>', `${description}: 90s, 15m, 24h, 30d or 1y`)
    .argParser(flagParser('--ttl', parseDurationIn()))
    .default(DEFAULT_TTL_SECONDS, '24h');
}
