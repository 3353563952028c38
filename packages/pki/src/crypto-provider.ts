import { SigilError } from '@sigil/errors';
import type { WebCrypto } from './internal/x509-runtime';
import { currentProvider, setProvider } from './internal/x509-runtime';

/**
 * A WebCrypto implementation: Node's `crypto.webcrypto` (the default) or `new (require('@peculiar/webcrypto').Crypto)()`.
 *
 * @example
 * ```ts
 * const provider: CryptoProvider = new (require('@peculiar/webcrypto').Crypto)();
 * setCryptoProvider(provider);
 * ```
 */
export type CryptoProvider = WebCrypto;

/**
 * Replaces the WebCrypto provider that @peculiar/x509 uses: CA certificate creation, CSR creation
 * and RSASSA-PSS CSR checks. Leaf issuance and the other CSR checks sign and verify with
 * node:crypto directly and are unaffected. The default is Node's built-in `crypto.webcrypto`,
 * which bench/pki.bench.js measures as the faster of the two.
 *
 * @example
 * ```ts
 * import { Crypto } from '@peculiar/webcrypto';
 * setCryptoProvider(new Crypto());
 * ```
 */
export function setCryptoProvider(provider: CryptoProvider): void {
  if (
    !provider ||
    typeof provider.subtle !== 'object' ||
    typeof provider.getRandomValues !== 'function'
  ) {
    throw new SigilError(
      'ERR_CRYPTO_PROVIDER_INVALID',
      'setCryptoProvider needs a WebCrypto object with `subtle` and `getRandomValues`',
    );
  }
  setProvider(provider);
}

/**
 * The WebCrypto provider currently in use.
 *
 * @example
 * ```ts
 * const previous = getCryptoProvider();
 * setCryptoProvider(new Crypto());
 * // ...
 * setCryptoProvider(previous);
 * ```
 */
export function getCryptoProvider(): CryptoProvider {
  return currentProvider();
}
