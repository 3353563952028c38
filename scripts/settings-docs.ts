// The docs' variable tables, generated from the settings tables (`pnpm docs:settings` writes
// them; `pnpm docs:settings --check` and e2e/docs fail when one is stale). Each table stands
// between `<!-- settings:<name>:start -->` and `<!-- settings:<name>:end -->` in its document.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  formatSettingsMarkdown,
  replaceMarkedSection,
  type ExtraSettingRow,
} from '../packages/settings/src';
import { CONFIG_FILE_ENV } from '../packages/agent/src/config';
import { AGENT_SETTINGS } from '../packages/agent/src/settings';
import { ADMIN_SETTINGS } from '../packages/cli/src/admin/admin-settings';
import { GRPC_TLS_SETTINGS } from '../packages/grpc-tls/src/tls-settings';
import { grpcServiceSettings } from '../packages/grpc-service/src/grpc-service-config';
import { CONTROLLER_EXTRA_ROWS, CONTROLLER_SETTINGS } from '../services/controller/src/config';

/** One generated table: the document, the marker name and the Markdown that belongs there. */
export interface SettingsDocsSection {
  readonly file: string;
  readonly name: string;
  readonly markdown: string;
}

const root = join(__dirname, '..');

const agentRows: ExtraSettingRow[] = [
  ...AGENT_SETTINGS.map((setting) => ({
    env: setting.env,
    flag: setting.flag,
    yaml: setting.yaml,
    help:
      setting.kinds.length === 1
        ? `${setting.kinds[0]} only: ${setting.description}`
        : setting.description,
    ...(setting.defaultValue === undefined ? {} : { defaultText: setting.defaultValue }),
  })),
  { env: CONFIG_FILE_ENV, flag: 'config', help: 'the YAML config file' },
];

/** Every generated table, from the settings tables of grpc-tls, the controller, the agents, `sigil admin` and the gRPC services. */
export const SETTINGS_DOCS: readonly SettingsDocsSection[] = [
  {
    file: 'docs/grpc-tls.md',
    name: 'grpc-tls',
    markdown: formatSettingsMarkdown(GRPC_TLS_SETTINGS),
  },
  {
    file: 'docs/controller.md',
    name: 'controller',
    markdown: formatSettingsMarkdown(CONTROLLER_SETTINGS, CONTROLLER_EXTRA_ROWS),
  },
  { file: 'docs/agents.md', name: 'agents', markdown: formatSettingsMarkdown({}, agentRows) },
  { file: 'docs/cli.md', name: 'cli-admin', markdown: formatSettingsMarkdown(ADMIN_SETTINGS) },
  {
    file: 'docs/sample-services.md',
    name: 'grpc-service',
    markdown: formatSettingsMarkdown(grpcServiceSettings(0), [
      {
        env: 'server mTLS',
        defaultText: 'required',
        help: '`GRPC_SERVER_CERT_PATH`, `GRPC_SERVER_KEY_PATH`, `GRPC_CLIENT_CA_CERT_PATH`, `GRPC_REQUIRE_CLIENT_CERT` (default true), or another `@sigil/grpc-tls` convention (docs/grpc-tls.md)',
      },
    ]),
  },
];

/** The documents whose marked table differs from what the settings tables generate. */
export function staleSettingsDocs(): { file: string; name: string; expected: string }[] {
  return SETTINGS_DOCS.flatMap((section) => {
    const current = readFileSync(join(root, section.file), 'utf8');
    const expected = replaceMarkedSection(current, section.name, section.markdown);
    return expected === current ? [] : [{ file: section.file, name: section.name, expected }];
  });
}

if (require.main === module) {
  const stale = staleSettingsDocs();
  if (process.argv.includes('--check')) {
    for (const doc of stale)
      process.stderr.write(
        `${doc.file}: the ${doc.name} settings table is stale; run pnpm docs:settings\n`,
      );
    process.exitCode = stale.length === 0 ? 0 : 1;
  } else {
    for (const doc of stale) {
      writeFileSync(join(root, doc.file), doc.expected);
      process.stdout.write(`wrote the ${doc.name} settings table of ${doc.file}\n`);
    }
  }
}
