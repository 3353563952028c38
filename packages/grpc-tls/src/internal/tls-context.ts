import { join, resolve } from 'node:path';
import { SigilError } from '@sigil/errors';
import { invalidSetting } from '@sigil/settings';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import type { LoadTlsConfigOptions, TlsFileSetting } from '../tls-config-types';
import type { Env, FileRole, FileSource, Layer } from './layers';
import {
  CERTS_DIR_FILES,
  directoryLayer,
  envFileLayer,
  envValue,
  fileLayer,
  mergeWithinLayer,
  SECRET_MOUNT_FILES,
} from './layers';
import { TLS_INVALID, type Sourced } from './values';
import type { YamlTlsSection } from './yaml-file';
import { readYamlTlsSection } from './yaml-file';

/** One load's inputs: the options, the environment, the normalised prefix and the YAML section. */
export interface Context {
  readonly options: LoadTlsConfigOptions;
  readonly env: Env;
  readonly prefix: string | undefined;
  readonly yaml: YamlTlsSection | undefined;
  readonly production: boolean;
  readonly explicit: Layer;
}

export function createContext(options: LoadTlsConfigOptions): Context {
  const env = options.env ?? process.env;
  const prefix =
    options.prefix === undefined || options.prefix === ''
      ? undefined
      : options.prefix.endsWith('_')
        ? options.prefix
        : `${options.prefix}_`;
  const configFile =
    options.configFile === false
      ? undefined
      : options.configFile !== undefined
        ? { value: resolve(options.configFile), origin: 'option configFile' }
        : envValue(env, GRPC_TLS_SETTINGS.configFile.env);
  const yaml =
    configFile &&
    readYamlTlsSection(
      { value: resolve(configFile.value), origin: configFile.origin },
      options.configSection ?? 'tls',
    );
  const explicit = mergeWithinLayer(
    'options',
    options.dir === undefined
      ? undefined
      : directoryLayer('options', { value: options.dir, origin: 'option dir' }, SECRET_MOUNT_FILES),
    fileLayer('options', {
      certificate:
        options.certificateFile === undefined
          ? undefined
          : { value: options.certificateFile, origin: 'option certificateFile' },
      privateKey:
        options.privateKeyFile === undefined
          ? undefined
          : { value: options.privateKeyFile, origin: 'option privateKeyFile' },
      ca:
        options.caFile === undefined
          ? undefined
          : { value: options.caFile, origin: 'option caFile' },
    }),
  );
  return { options, env, prefix, yaml, production: env['NODE_ENV'] === 'production', explicit };
}

/** `<PREFIX>CERTS_DIR/<name>/{cert,key,ca}.pem`, each overridable by `<PREFIX>TLS_{CERT,KEY,CA}_FILE`. */
export function certsDirLayer(env: Env, prefix: string, name: string | undefined): Layer {
  const individual = envFileLayer(`the ${prefix}TLS_*_FILE variables`, env, {
    certificate: `${prefix}TLS_CERT_FILE`,
    privateKey: `${prefix}TLS_KEY_FILE`,
    ca: `${prefix}TLS_CA_FILE`,
  });
  const certsDir = envValue(env, `${prefix}CERTS_DIR`);
  let directory: Layer | undefined;
  if (certsDir) {
    if (name === undefined) {
      const complete = (['certificate', 'privateKey', 'ca'] as const).every(
        (role) => individual.files[role],
      );
      if (!complete) {
        throw new SigilError(
          'ERR_TLS_CONFIG_INVALID',
          `${prefix}CERTS_DIR is set but no certificate name was given: pass { name } (e.g. name: 'control-plane' reads ${certsDir.value}/control-plane/cert.pem, key.pem and ca.pem)`,
          { details: { variable: `${prefix}CERTS_DIR` } },
        );
      }
    } else {
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..')
        throw invalidSetting('option name', `"${name}" is not a directory entry name`, TLS_INVALID);
      directory = directoryLayer(
        `${prefix}CERTS_DIR`,
        { value: join(resolve(certsDir.value), name), origin: `${prefix}CERTS_DIR` },
        CERTS_DIR_FILES,
      );
    }
  }
  return mergeWithinLayer(
    certsDir ? `${prefix}CERTS_DIR` : `the ${prefix}TLS_*_FILE variables`,
    directory,
    individual,
  );
}

export function yamlFileLayer(
  yaml: YamlTlsSection,
  entries: Partial<Record<FileRole, Sourced<string>>>,
): Layer {
  const name = `the YAML file ${yaml.file}`;
  const directory = yaml.dir && directoryLayer(name, yaml.dir, SECRET_MOUNT_FILES, yaml.baseDir);
  return mergeWithinLayer(name, directory, fileLayer(name, entries, yaml.baseDir));
}

export function refuseInProduction(ctx: Context, origin: string, what: string): void {
  if (!ctx.production) return;
  const override = envValue(ctx.env, GRPC_TLS_SETTINGS.allowInsecureInProduction.env);
  if (
    override &&
    GRPC_TLS_SETTINGS.allowInsecureInProduction.parse(override.value, override.origin)
  )
    return;
  throw new SigilError(
    'ERR_TLS_INSECURE_IN_PRODUCTION',
    `${origin} asks for ${what}, which is refused because NODE_ENV=production (set SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true as well to override)`,
    { details: { variable: origin } },
  );
}

/** The first defined setting, in precedence order. */
export function pick<T>(...settings: (Sourced<T> | undefined)[]): Sourced<T> | undefined {
  return settings.find((s) => s !== undefined);
}

/** Two env vars that mean the same thing must not disagree. */
export function agree<T>(settings: (Sourced<T> | undefined)[]): Sourced<T> | undefined {
  const set = settings.filter((s): s is Sourced<T> => s !== undefined);
  for (const other of set.slice(1)) {
    if (String(other.value) !== String(set[0]!.value)) {
      throw ambiguous(
        `${set[0]!.origin}=${String(set[0]!.value)} and ${other.origin}=${String(other.value)} disagree; set one of them`,
        [set[0]!.origin, other.origin],
      );
    }
  }
  return set[0];
}

export function ambiguous(message: string, variables: string[]): SigilError {
  return new SigilError('ERR_TLS_CONFIG_AMBIGUOUS', message, { details: { variables } });
}

export function toSetting(file: FileSource): TlsFileSetting {
  return { path: file.value, origin: file.origin };
}
