import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SigilError } from '@sigil/errors';
import { parseBoolean } from '@sigil/settings';
import type { Sourced } from './values';

/** The three files of an identity. */
export type FileRole = 'certificate' | 'privateKey' | 'ca';

/** A file path and the setting that named it; `implied` marks a file a directory form names by convention. */
export interface FileSource extends Sourced<string> {
  readonly implied?: boolean;
}

/** One place settings came from: an env convention, the YAML file or the explicit options. */
export interface Layer {
  /** How this convention is called in messages, e.g. `GRPC_TLS_DIR` or `the GRPC_SERVER_* variables`. */
  readonly name: string;
  readonly files: Partial<Record<FileRole, FileSource>>;
  /** The variable that would name each file in this convention, for "is not set" errors. */
  readonly expects?: Partial<Record<FileRole, string>>;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** The value of an env var, or undefined when unset or blank. */
export function envValue(env: Env, name: string): Sourced<string> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return { value: raw.trim(), origin: name };
}

export function envBoolean(env: Env, name: string): Sourced<boolean> | undefined {
  const raw = envValue(env, name);
  return raw && { value: parseBoolean(raw.value, name, 'ERR_TLS_CONFIG_INVALID'), origin: name };
}

/** A file layer from individually named files; relative paths resolve against `base`. */
export function fileLayer(
  name: string,
  entries: Partial<Record<FileRole, Sourced<string> | undefined>>,
  base = process.cwd(),
): Layer {
  const files: Partial<Record<FileRole, FileSource>> = {};
  for (const role of ['certificate', 'privateKey', 'ca'] as const) {
    const entry = entries[role];
    if (entry) files[role] = { value: resolve(base, entry.value), origin: entry.origin };
  }
  return { name, files };
}

/** The cert-manager Secret layout: `tls.crt`, `tls.key`, `ca.crt` in one directory. */
export const SECRET_MOUNT_FILES: Readonly<Record<FileRole, string>> = {
  certificate: 'tls.crt',
  privateKey: 'tls.key',
  ca: 'ca.crt',
};

/** The certs-directory layout: `<dir>/<name>/cert.pem|key.pem|ca.pem`. */
export const CERTS_DIR_FILES: Readonly<Record<FileRole, string>> = {
  certificate: 'cert.pem',
  privateKey: 'key.pem',
  ca: 'ca.pem',
};

/** An env convention of individually named files: `vars` maps each role to its variable. */
export function envFileLayer(
  name: string,
  env: Env,
  vars: Readonly<Record<FileRole, string>>,
): Layer {
  return {
    ...fileLayer(name, {
      certificate: envValue(env, vars.certificate),
      privateKey: envValue(env, vars.privateKey),
      ca: envValue(env, vars.ca),
    }),
    expects: vars,
  };
}

/** A directory layer: every file named by convention, each attributed to the directory's setting. */
export function directoryLayer(
  name: string,
  dir: Sourced<string>,
  layout: Readonly<Record<FileRole, string>>,
  base = process.cwd(),
): Layer {
  const root = resolve(base, dir.value);
  const files: Partial<Record<FileRole, FileSource>> = {};
  for (const role of ['certificate', 'privateKey', 'ca'] as const) {
    files[role] = { value: join(root, layout[role]), origin: dir.origin, implied: true };
  }
  return { name, files };
}

export function hasFiles(layer: Layer | undefined): layer is Layer {
  return layer !== undefined && Object.keys(layer.files).length > 0;
}

/**
 * The env layer in force: the first present convention in precedence order. Another convention
 * that is also present must agree with it file for file, or configuration is ambiguous. A
 * directory convention (`GRPC_TLS_DIR`) that agrees on every file both name completes the files
 * the first one leaves out: `GRPC_TLS_DIR=/etc/grpc-tls` with `GRPC_SERVER_CERT_PATH=/etc/grpc-tls/tls.crt`
 * reads the key and CA from the directory. Files named one by one are never mixed across conventions.
 */
export function chooseEnvLayer(layers: readonly Layer[]): Layer | undefined {
  const present = layers.filter(hasFiles);
  const [first, ...others] = present;
  if (!first) return undefined;
  const chosen: Layer = { ...first, files: { ...first.files } };
  for (const other of others) {
    const completes: FileRole[] = [];
    for (const role of ['certificate', 'privateKey', 'ca'] as const) {
      const theirs = other.files[role];
      if (!theirs) continue;
      const ours = first.files[role];
      if (ours && ours.value === theirs.value) continue;
      if (!ours && theirs.implied) {
        completes.push(role);
        continue;
      }
      const what = ours
        ? `${ours.origin} names ${ours.value}`
        : `${first.name} names no ${ROLE_NAMES[role]}`;
      throw new SigilError(
        'ERR_TLS_CONFIG_AMBIGUOUS',
        `two TLS conventions are set and disagree on the ${ROLE_NAMES[role]}: ${what}, ${theirs.origin} names ${theirs.value}. ` +
          `Use one convention (${first.name} or ${other.name}), not a mix`,
        { details: { variables: [...new Set([...origins(first), ...origins(other)])], role } },
      );
    }
    for (const role of completes) chosen.files[role] ??= other.files[role]!;
  }
  return chosen;
}

/** Within one layer, a file named on its own beats the file its directory implies (`<PREFIX>TLS_CA_FILE` over `<PREFIX>CERTS_DIR/<name>/ca.pem`). */
export function mergeWithinLayer(
  name: string,
  directory: Layer | undefined,
  individual: Layer,
): Layer {
  return {
    name,
    files: { ...directory?.files, ...individual.files },
    ...(individual.expects ? { expects: individual.expects } : {}),
  };
}

/** Drops an implied file that does not exist (a Secret without `ca.crt`, say) when it is optional. */
export function dropMissingImplied(
  files: Partial<Record<FileRole, FileSource>>,
  role: FileRole,
): void {
  const file = files[role];
  if (file?.implied && !existsSync(file.value)) delete files[role];
}

export const ROLE_NAMES: Readonly<Record<FileRole, string>> = {
  certificate: 'certificate',
  privateKey: 'private key',
  ca: 'CA bundle',
};

function origins(layer: Layer): string[] {
  return Object.values(layer.files).map((f) => f.origin);
}
