import { NO_AUDIT_FILTER, countAgents, filterAgents, filterAudit } from './filter';
import type { Agent, AuditRecord } from './types';

const agents: Agent[] = [
  {
    id: 'edge-1',
    status: 'ONLINE',
    version: '1.4.0',
    last_seen: null,
    upgrade_required: false,
    private_ip: '10.0.0.7',
  },
  {
    id: 'edge-2',
    status: 'OFFLINE',
    version: '1.3.9',
    last_seen: null,
    upgrade_required: true,
    private_ip: '10.0.0.8',
  },
  {
    id: 'lab-1',
    status: 'REVOKED',
    version: '1.4.0',
    last_seen: null,
    upgrade_required: false,
    connector_id: 'edge-1',
  },
];

describe('countAgents', () => {
  it('counts each status', () => {
    expect(countAgents(agents)).toEqual({ total: 3, online: 1, offline: 1, revoked: 1 });
    expect(countAgents([])).toEqual({ total: 0, online: 0, offline: 0, revoked: 0 });
  });
});

describe('filterAgents', () => {
  it('keeps every agent without a filter', () => {
    expect(filterAgents(agents, { search: '', status: '' })).toHaveLength(3);
  });
  it('matches every word, case-insensitively, in id, version, address and connector', () => {
    expect(filterAgents(agents, { search: 'EDGE', status: '' }).map((a) => a.id)).toEqual([
      'edge-1',
      'edge-2',
      'lab-1',
    ]);
    expect(filterAgents(agents, { search: 'edge 1.3', status: '' }).map((a) => a.id)).toEqual([
      'edge-2',
    ]);
    expect(filterAgents(agents, { search: '10.0.0.7', status: '' }).map((a) => a.id)).toEqual([
      'edge-1',
    ]);
  });
  it('filters on the status', () => {
    expect(filterAgents(agents, { search: '', status: 'REVOKED' }).map((a) => a.id)).toEqual([
      'lab-1',
    ]);
  });
});

const records: AuditRecord[] = [
  {
    id: 3,
    at: '2030-01-01T00:05:00.000Z',
    action: 'admin.agent_revoked',
    outcome: 'succeeded',
    actor: 'alice',
    subject: 'spiffe://example.org/tunneler/laptop-7',
    details: { reason: 'stolen' },
  },
  {
    id: 2,
    at: '2030-01-01T00:02:00.000Z',
    action: 'enrollment.refused',
    outcome: 'refused',
    actor: 'token:9f2c4e1a0b7d',
    subject: null,
    details: { agent_id: 'edge-9', kind: 'connector' },
  },
  {
    id: 1,
    at: '2030-01-01T00:00:00.000Z',
    action: 'enrollment.succeeded',
    outcome: 'succeeded',
    actor: 'token:aa11bb22cc33',
    subject: 'spiffe://example.org/connector/edge-1',
  },
];

const ids = (list: AuditRecord[]) => list.map((r) => r.id);

describe('filterAudit', () => {
  it('keeps everything with no filter', () => {
    expect(ids(filterAudit(records, NO_AUDIT_FILTER))).toEqual([3, 2, 1]);
  });
  it('filters on part of the actor and of the action', () => {
    expect(ids(filterAudit(records, { ...NO_AUDIT_FILTER, actor: 'token:' }))).toEqual([2, 1]);
    expect(ids(filterAudit(records, { ...NO_AUDIT_FILTER, action: 'Enrollment' }))).toEqual([2, 1]);
  });
  it('finds an agent in the subject or the details', () => {
    expect(ids(filterAudit(records, { ...NO_AUDIT_FILTER, agent: 'edge-9' }))).toEqual([2]);
    expect(ids(filterAudit(records, { ...NO_AUDIT_FILTER, agent: 'laptop-7' }))).toEqual([3]);
  });
  it('filters on a time range, a value without a zone read as UTC', () => {
    expect(ids(filterAudit(records, { ...NO_AUDIT_FILTER, from: '2030-01-01T00:02' }))).toEqual([
      3, 2,
    ]);
    expect(
      ids(
        filterAudit(records, {
          ...NO_AUDIT_FILTER,
          from: '2030-01-01T00:01',
          to: '2030-01-01T00:03',
        }),
      ),
    ).toEqual([2]);
    expect(
      ids(filterAudit(records, { ...NO_AUDIT_FILTER, to: '2030-01-01T01:00:00+01:00' })),
    ).toEqual([1]);
  });
});
