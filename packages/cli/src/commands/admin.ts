import type { Command } from 'commander';
import type { CommandContext } from '../internal/command';
import { registerAdminAgents } from './admin-agents';
import { registerAdminAgentVersions } from './admin-agent-versions';
import { registerAdminAudit } from './admin-audit';
import { registerAdminEntries } from './admin-entries';
import { registerAdminCa } from './admin-ca';
import { registerAdminJwtAuthority } from './admin-jwt-authority';
import { registerAdminTokens } from './admin-tokens';
import { registerAdminResources } from './admin-resources';
import { registerAdminGrants } from './admin-grants';

/** Registers `sigil admin` and its groups. @internal */
export function registerAdmin(program: Command, context: CommandContext): void {
  const admin = program
    .command('admin')
    .description(
      'Operate a controller through its admin API (SIGIL_ADMIN_URL, SIGIL_ADMIN_TOKEN): enrollment tokens, agents, revocation, audit, CA rotation.',
    )
    .addHelpText(
      'after',
      '\nEnvironment: SIGIL_ADMIN_URL (default http://127.0.0.1:8080), SIGIL_ADMIN_TOKEN or SIGIL_ADMIN_TOKEN_FILE, SIGIL_ADMIN_TIMEOUT (default 10s).\nExit codes: 0 ok, 2 refused by the controller or misconfigured, 3 no usable answer (unreachable, timed out, 5xx), 64 usage error.',
    );
  registerAdminTokens(admin, context);
  registerAdminAgents(admin, context);
  registerAdminAudit(admin, context);
  registerAdminAgentVersions(admin, context);
  registerAdminResources(admin, context);
  registerAdminGrants(admin, context);
  registerAdminEntries(admin, context);
  registerAdminCa(admin, context);
  registerAdminJwtAuthority(admin, context);
}
