// CA private keys kept in the store (so every replica signs with the same generation) are sealed
// with AES-256-GCM under a 256-bit key that lives only in DATA_DIR, like the CA files: a copy of
// the database alone yields no signing key.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import { PRIVATE_KEY_MODE, writeFileAtomic } from '@sigil/pki';

/** The sealing key's file under DATA_DIR. */
export const CA_KEY_SEALING_FILE = 'ca-key-sealing.key';

const FORMAT = 'sigil-sealed-v1';

/** Seals and opens CA private keys for the store. */
export interface CaKeySealer {
  seal(privateKeyPem: string, context: string): string;
  open(sealed: string, context: string): string;
}

/**
 * Loads `DATA_DIR/ca-key-sealing.key` (creating it, 0600, on first use). `context` binds a sealed
 * key to its generation (GCM additional data), so rows cannot be swapped.
 *
 * @example
 * ```ts
 * const sealer = loadCaKeySealer(dataDir);
 * const sealed = sealer.seal(ca.privateKeyPem, 'runtime-ca/2');
 * ```
 */
export function loadCaKeySealer(dataDir: string): CaKeySealer {
  const path = join(dataDir, CA_KEY_SEALING_FILE);
  if (!existsSync(path))
    writeFileAtomic(path, `${randomBytes(32).toString('hex')}\n`, { mode: PRIVATE_KEY_MODE });
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new SigilError(
      'ERR_KEY_PERMISSIONS',
      `${path} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${path}`,
      { details: { file: path } },
    );
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== 32)
    throw new SigilError(
      'ERR_DATA_DIR_UNUSABLE',
      `${path} does not hold a 256-bit hex key; restore it from backup (every replica needs the same file)`,
      { details: { file: path } },
    );
  return {
    seal(privateKeyPem, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final()]);
      return [FORMAT, ...[iv, cipher.getAuthTag(), body].map((p) => p.toString('base64'))].join(
        '.',
      );
    },
    open(sealed, context) {
      const [format, ...parts] = sealed.split('.');
      const [iv, tag, body] = parts.map((p) => Buffer.from(p, 'base64'));
      try {
        if (format !== FORMAT || !iv || !tag || !body) throw new Error('not sealed');
        const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new SigilError(
          'ERR_DATA_DIR_UNUSABLE',
          `the stored key of ${context} does not open with ${path}: every replica needs the same ${CA_KEY_SEALING_FILE} (copy it from the first controller's DATA_DIR)`,
          { cause, details: { file: path } },
        );
      }
    },
  };
}
