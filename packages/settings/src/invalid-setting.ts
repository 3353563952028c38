import { SigilError, type SigilErrorCode } from '@sigil/errors';

/**
 * Options of {@link invalidSetting}.
 *
 * @example
 * ```ts
 * const options: InvalidSettingOptions = { code: 'ERR_TLS_CONFIG_INVALID', value: 'TLSv1.1' };
 * ```
 */
export interface InvalidSettingOptions {
  /** The offending value, quoted after the setting's name (`X="10"`); omit it to write `X: reason`. */
  value?: string;
  /** Default `ERR_CONFIG_INVALID`. */
  code?: SigilErrorCode;
  cause?: unknown;
  /** Extra fields of the error's `details` besides `variable` (and `value`). */
  details?: Record<string, unknown>;
}

/**
 * The one "invalid value" error of every settings table: a `SigilError` whose message starts with
 * where the value came from (`CONNECTOR_CERT_TTL`, `--data-dir`, `controller.yaml: data_dir`) and
 * whose `details.variable` says the same. A `reason` that starts with `is ` reads as a sentence
 * after the name or value (`X="10" is not a duration`, `X is too short`); any other reason
 * follows a colon (`X="1500ms": use whole seconds`).
 *
 * @example
 * ```ts
 * throw invalidSetting('HEARTBEAT_INTERVAL', 'is not a duration', { value: '10' });
 * // SigilError ERR_CONFIG_INVALID: HEARTBEAT_INTERVAL="10" is not a duration
 * ```
 */
export function invalidSetting(
  at: string,
  reason: string,
  options: InvalidSettingOptions = {},
): SigilError {
  const { value } = options;
  const subject = value === undefined ? at : `${at}=${JSON.stringify(value)}`;
  const separator = reason.startsWith('is ') ? ' ' : ': ';
  return new SigilError(options.code ?? 'ERR_CONFIG_INVALID', `${subject}${separator}${reason}`, {
    ...(options.cause === undefined ? {} : { cause: options.cause }),
    details: { variable: at, ...(value === undefined ? {} : { value }), ...options.details },
  });
}

/**
 * The "required setting missing" error (`ERR_CONFIG_MISSING`), naming every way to set it.
 *
 * @example
 * ```ts
 * throw missingSetting({ env: 'CONNECTOR_ADDR', flag: 'connector-addr', yaml: 'connector.addr' }, 'sigil-tunneler enroll needs it');
 * // CONNECTOR_ADDR is not set: sigil-tunneler enroll needs it (env CONNECTOR_ADDR, flag --connector-addr or connector.addr in the config file)
 * ```
 */
export function missingSetting(
  setting: {
    readonly env: string | readonly string[];
    readonly flag?: string;
    readonly yaml?: string;
  },
  why: string,
): SigilError {
  const env = typeof setting.env === 'string' ? setting.env : setting.env[0]!;
  const ways = [
    `env ${env}`,
    ...(setting.flag === undefined ? [] : [`flag --${setting.flag}`]),
    ...(setting.yaml === undefined ? [] : [`${setting.yaml} in the config file`]),
  ];
  const listed =
    ways.length === 1 ? ways[0]! : `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)!}`;
  return new SigilError('ERR_CONFIG_MISSING', `${env} is not set: ${why} (${listed})`, {
    details: { variable: env },
  });
}
