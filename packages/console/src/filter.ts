// Pure filtering and counting behind the agent tables, the overview and the audit log.
import type { Agent, AgentStatus, AuditRecord } from './types';

/** Totals of one agent kind, as the overview shows them. */
export interface AgentCounts {
  total: number;
  online: number;
  offline: number;
  revoked: number;
}

/**
 * Counts agents by status.
 *
 * @example
 * ```ts
 * countAgents([{ status: 'ONLINE' }, { status: 'REVOKED' }]); // { total: 2, online: 1, offline: 0, revoked: 1 }
 * ```
 */
export function countAgents(agents: readonly Pick<Agent, 'status'>[]): AgentCounts {
  const counts: AgentCounts = { total: agents.length, online: 0, offline: 0, revoked: 0 };
  for (const agent of agents) {
    if (agent.status === 'ONLINE') counts.online += 1;
    else if (agent.status === 'OFFLINE') counts.offline += 1;
    else if (agent.status === 'REVOKED') counts.revoked += 1;
  }
  return counts;
}

/** What the agent tables filter on. */
export interface AgentFilter {
  /** Words that must each appear (case-insensitive) in the id, version, connector or address. */
  search: string;
  /** Only this status; `''` for every status. */
  status: AgentStatus | '';
}

/**
 * The agents that match `filter`, in their order.
 *
 * @example
 * ```ts
 * filterAgents(connectors, { search: 'edge', status: 'ONLINE' });
 * ```
 */
export function filterAgents<T extends Agent>(agents: readonly T[], filter: AgentFilter): T[] {
  const words = filter.search.toLowerCase().split(/\s+/).filter(Boolean);
  return agents.filter((agent) => {
    if (filter.status !== '' && agent.status !== filter.status) return false;
    const haystack = [agent.id, agent.version, agent.connector_id, agent.private_ip, agent.status]
      .filter((v): v is string => typeof v === 'string')
      .join(' ')
      .toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

/** The audit log's filters; an empty string does not filter. */
export interface AuditFilter {
  /** Part of the actor (`admin`, `token:9f2c`). */
  actor: string;
  /** Part of the action (`enrollment`, `admin.agent_revoked`). */
  action: string;
  /** Part of an agent id or SPIFFE ID: the subject or an agent field of the details. */
  agent: string;
  /** Records at or after this time (ISO 8601, or `YYYY-MM-DDTHH:MM` as a UTC time). */
  from: string;
  /** Records at or before this time. */
  to: string;
}

/** An audit filter that keeps everything. */
export const NO_AUDIT_FILTER: AuditFilter = { actor: '', action: '', agent: '', from: '', to: '' };

const AGENT_DETAIL_FIELDS = ['agent_id', 'id', 'connector_id', 'tunneler_id', 'spiffe_id'];

function parseTime(value: string): number | undefined {
  if (value.trim() === '') return undefined;
  // A datetime-local value has no zone: the console reads and shows times in UTC.
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

function agentText(record: AuditRecord): string {
  const details = record.details ?? {};
  return [record.subject, ...AGENT_DETAIL_FIELDS.map((field) => details[field])]
    .filter((v): v is string => typeof v === 'string')
    .join(' ')
    .toLowerCase();
}

/**
 * The audit records that match `filter`, in their order.
 *
 * @example
 * ```ts
 * filterAudit(records, { ...NO_AUDIT_FILTER, action: 'revoked', from: '2030-01-01T00:00' });
 * ```
 */
export function filterAudit(records: readonly AuditRecord[], filter: AuditFilter): AuditRecord[] {
  const actor = filter.actor.trim().toLowerCase();
  const action = filter.action.trim().toLowerCase();
  const agent = filter.agent.trim().toLowerCase();
  const from = parseTime(filter.from);
  const to = parseTime(filter.to);
  return records.filter((record) => {
    if (actor !== '' && !record.actor.toLowerCase().includes(actor)) return false;
    if (action !== '' && !record.action.toLowerCase().includes(action)) return false;
    if (agent !== '' && !agentText(record).includes(agent)) return false;
    const at = Date.parse(record.at);
    if (from !== undefined && at < from) return false;
    if (to !== undefined && at > to) return false;
    return true;
  });
}
