import { Option } from 'commander';
import { parseDuration } from './parse';

/**
 * Key types `sigil` creates CAs and keys with (Ed25519 is left out: too few TLS stacks accept it).
 *
 * @example
 * ```ts
 * const keyType: CliKeyType = 'rsa-2048';
 * await initCertificateAuthority({ out: './ca', trustDomain: 'example.org', keyType });
 * ```
 */
export type CliKeyType = 'ec-p256' | 'rsa-2048';

/** Default lifetime of a certificate `sigil` issues: 24 hours. */
export const DEFAULT_TTL_SECONDS = 86_400;

/** The `--key-type` flag of the commands that create keys. */
export function keyTypeOption(description: string): Option {
  const keyTypes: CliKeyType[] = ['ec-p256', 'rsa-2048'];
  return new Option('--key-type <type>', description).choices(keyTypes).default('ec-p256');
}

/** The `--ttl` flag of the commands that issue certificates, in seconds. */
export function ttlOption(description: string): Option {
  return new Option('--ttl <duration>', `${description}: 90s, 15m, 24h, 30d or 1y`)
    .argParser(parseDuration)
    .default(DEFAULT_TTL_SECONDS, '24h');
}
