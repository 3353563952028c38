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
import { productionOf } from './production';
import { TLS_INVALID, type Sourced } from './values';
import type { YamlTlsSection } from './yaml-file';
import { readYamlTlsSection } from './yaml-file';

/** One load's inputs: the options, the environment, the selected convention and the YAML section. */
export interface Context {
  readonly options: LoadTlsConfigOptions;
  readonly env: Env;
  /** The prefix of the prefixed conventions (option `prefix`, else `SIGIL_TLS_PREFIX`), ending in `_`. */
  readonly prefix: string | undefined;
  /** The certs-directory entry (option `name`, else `SIGIL_TLS_NAME`). */
  readonly name: string | undefined;
  /** The dotted path of the YAML section (option `configSection`, else `SIGIL_TLS_CONFIG_SECTION`, else `tls`). */
  readonly configSection: string;
  readonly yaml: YamlTlsSection | undefined;
  readonly production: boolean;
  /** How the environment was judged for messages: `NODE_ENV=Production`. */
  readonly productionSaid: string;
  readonly explicit: Layer;
}

/** An option, else its env var, with the origin that gave it. */
function optionOrEnv(
  env: Env,
  option: string | undefined,
  optionName: string,
  variable: string,
): Sourced<string> | undefined {
  if (option !== undefined)
    return option === '' ? undefined : { value: option, origin: `option ${optionName}` };
  return envValue(env, variable);
}

export function createContext(options: LoadTlsConfigOptions): Context {
  const env = options.env ?? process.env;
  const rawPrefix = optionOrEnv(env, options.prefix, 'prefix', GRPC_TLS_SETTINGS.prefix.env);
  const prefix = rawPrefix && GRPC_TLS_SETTINGS.prefix.parse(rawPrefix.value, rawPrefix.origin);
  const name = optionOrEnv(env, options.name, 'name', GRPC_TLS_SETTINGS.name.env);
  const section = optionOrEnv(
    env,
    options.configSection,
    'configSection',
    GRPC_TLS_SETTINGS.configSection.env,
  );
  const configSection = section
    ? GRPC_TLS_SETTINGS.configSection.parse(section.value, section.origin)
    : GRPC_TLS_SETTINGS.configSection.default;
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
      { value: configSection, origin: section?.origin },
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
  const verdict = productionOf(env);
  return {
    options,
    env,
    prefix,
    name: name?.value,
    configSection,
    yaml,
    production: verdict.production,
    productionSaid: verdict.said,
    explicit,
  };
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
          `${prefix}CERTS_DIR is set but no certificate name was given: set ${GRPC_TLS_SETTINGS.name.env} or pass { name } (e.g. ${GRPC_TLS_SETTINGS.name.env}=control-plane reads ${certsDir.value}/control-plane/cert.pem, key.pem and ca.pem)`,
          { details: { variable: `${prefix}CERTS_DIR` } },
        );
      }
    } else {
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..')
        throw invalidSetting(
          `${GRPC_TLS_SETTINGS.name.env} / option name`,
          `"${name}" is not a directory entry name`,
          TLS_INVALID,
        );
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
    `${origin} asks for ${what}, which is refused because ${ctx.productionSaid} counts as production (only an unset NODE_ENV, development, dev, test or local do not; set SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true as well to override)`,
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
