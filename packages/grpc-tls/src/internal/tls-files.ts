import { SigilError } from '@sigil/errors';
import type { TlsFileSetting } from '../tls-config-types';
import { GRPC_TLS_SETTINGS } from '../tls-settings';
import type { FileRole, FileSource, Layer } from './layers';
import { chooseEnvLayer, directoryLayer, envValue, ROLE_NAMES, SECRET_MOUNT_FILES } from './layers';
import type { Context } from './tls-context';
import { toSetting, yamlFileLayer } from './tls-context';
import type { Sourced } from './values';
import type { YamlTlsSection } from './yaml-file';

export interface ResolvedFiles {
  /** The file per role after precedence: explicit options, then the env convention, then YAML. */
  readonly chosen: Partial<Record<FileRole, FileSource>>;
  /** The variable to name when a role is missing. */
  readonly expects: Partial<Record<FileRole, string>>;
  /** Name of the layer that supplied the certificate (or whatever it supplied first). */
  readonly source: string;
  /** Rank (3 options, 2 env, 1 YAML) of each role's winner: lets an explicit mode ignore lower layers. */
  readonly ranks: Partial<Record<FileRole, number>>;
}

/**
 * The files of one side: its own env conventions (`envLayers`, most specific first), then the
 * `GRPC_TLS_DIR` Secret mount both sides share, then this side's keys of the YAML section.
 */
export function resolveFiles(
  ctx: Context,
  sideLayers: readonly Layer[],
  yamlEntries: (yaml: YamlTlsSection) => Partial<Record<FileRole, Sourced<string>>>,
): ResolvedFiles {
  const envLayers = [...sideLayers];
  const tlsDir = envValue(ctx.env, GRPC_TLS_SETTINGS.dir.env);
  if (tlsDir) envLayers.push(directoryLayer(tlsDir.origin, tlsDir, SECRET_MOUNT_FILES));
  const yamlLayer = ctx.yaml && yamlFileLayer(ctx.yaml, yamlEntries(ctx.yaml));
  const envLayer = chooseEnvLayer(envLayers);
  const chosen: Partial<Record<FileRole, FileSource>> = {};
  const ranks: Partial<Record<FileRole, number>> = {};
  const sources: string[] = [];
  const layers: [Layer | undefined, number][] = [
    [ctx.explicit, 3],
    [envLayer, 2],
    [yamlLayer, 1],
  ];
  for (const role of ['certificate', 'privateKey', 'ca'] as const) {
    for (const [layer, rank] of layers) {
      const file = layer?.files[role];
      if (file) {
        chosen[role] = file;
        ranks[role] = rank;
        sources.push(layer!.name);
        break;
      }
    }
  }
  // Name the missing variable of the convention in use, else of the first (most specific) one.
  const expects = { ...((envLayer ?? envLayers.find((l) => l.expects))?.expects ?? {}) };
  return { chosen, expects, source: sources[0] ?? 'none', ranks };
}

/** The setting names of a file role outside the env: the option and the YAML key. */
export interface RoleNames {
  readonly option: string;
  readonly yamlKey: string;
}

export function requireFile(
  ctx: Context,
  files: ResolvedFiles,
  role: 'certificate' | 'privateKey',
  names: RoleNames,
  why: string,
): TlsFileSetting {
  const file = files.chosen[role];
  if (file) return toSetting(file);
  const otherRole = role === 'certificate' ? 'privateKey' : 'certificate';
  const other = files.chosen[otherRole];
  // Name the setting of the same convention as the half of the pair that is there.
  const rank = other ? files.ranks[otherRole] : 2;
  const variable =
    rank === 3
      ? `option ${names.option}`
      : rank === 1 && ctx.yaml
        ? `${ctx.yaml.file}: ${ctx.configSection}.${names.yamlKey}`
        : files.expects[role]!;
  const hint = other
    ? `${other.origin} is set, so the ${ROLE_NAMES[role]} must be too`
    : `set ${files.expects.certificate} and ${files.expects.privateKey}${files.expects.certificate === 'GRPC_SERVER_CERT_PATH' ? ', or GRPC_TLS_CERT and GRPC_TLS_KEY' : ''}, or GRPC_TLS_DIR; SIGIL_TLS_MODE=dev makes throwaway certificates for development`;
  throw new SigilError('ERR_TLS_ENV_MISSING', `${variable} is not set: ${why} (${hint})`, {
    details: { variable },
  });
}
