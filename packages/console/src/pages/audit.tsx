// The Audit log page: the newest records with filters on actor, action, agent and time.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Alert, PageTitle, TextField, Time } from '../components/ui';
import { useAction, useConsole, useNow } from '../context';
import { NO_AUDIT_FILTER, filterAudit } from '../filter';
import { formatTime } from '../format';
import type { AuditFilter } from '../filter';
import type { AuditRecord } from '../types';

/** How many records one fetch asks for (the API's maximum is 1000). */
const PAGE_SIZE = 500;

/** Audit records as a table (also the overview's latest activity). */
export function AuditTable({
  records,
  now,
  label,
  absolute = false,
}: {
  records: AuditRecord[] | undefined;
  now: Date;
  label: string;
  /** Times as `YYYY-MM-DD HH:MM:SS UTC` (the audit log) rather than `5 min ago`. */
  absolute?: boolean;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>
          {records === undefined ? 'Loading…' : `${label}: ${records.length} records`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Action</th>
            <th scope="col">Outcome</th>
            <th scope="col">Actor</th>
            <th scope="col">Subject</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {(records ?? []).map((r) => (
            <tr key={r.id}>
              <td class="nowrap">
                {absolute ? (
                  <time dateTime={r.at}>{formatTime(r.at)}</time>
                ) : (
                  <Time iso={r.at} now={now} past />
                )}
              </td>
              <td class="mono">{r.action}</td>
              <td class={`outcome-${r.outcome}`}>{r.outcome}</td>
              <td class="mono">{r.actor}</td>
              <td class="mono">{r.subject ?? '—'}</td>
              <td class="mono details">
                {r.details === undefined || r.details === null ? '' : JSON.stringify(r.details)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The Audit log page. */
export function AuditPage() {
  const { api, live } = useConsole();
  const [records, setRecords] = useState<AuditRecord[] | undefined>(undefined);
  const [filter, setFilter] = useState<AuditFilter>(NO_AUDIT_FILTER);
  const [exhausted, setExhausted] = useState(false);
  const load = useAction();
  const more = useAction();
  const now = useNow(10_000);

  useEffect(() => {
    const refresh = () =>
      void load.run(async () => {
        const newest = await api.get<AuditRecord[]>(`/audit?limit=${PAGE_SIZE}`);
        // Keep older pages already loaded below the newest ones.
        setRecords((old) => {
          const oldest = newest.at(-1)?.id ?? Infinity;
          return [...newest, ...(old ?? []).filter((r) => r.id < oldest)];
        });
        if (newest.length < PAGE_SIZE) setExhausted(true);
      });
    refresh();
    return live.subscribe(['*'], refresh);
  }, [api, live]);

  const loadMore = () =>
    void more.run(async () => {
      const before = records?.at(-1)?.id;
      if (before === undefined) return;
      const older = await api.get<AuditRecord[]>(`/audit?limit=${PAGE_SIZE}&before=${before}`);
      setRecords((old) => [...(old ?? []), ...older]);
      if (older.length < PAGE_SIZE) setExhausted(true);
    });

  const shown = useMemo(() => filterAudit(records ?? [], filter), [records, filter]);
  const set = (field: keyof AuditFilter) => (value: string) =>
    setFilter({ ...filter, [field]: value });
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Audit log</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <TextField
          id="audit-actor"
          label="Actor"
          value={filter.actor}
          placeholder="admin"
          onInput={set('actor')}
        />
        <TextField
          id="audit-action"
          label="Action"
          value={filter.action}
          placeholder="admin.agent_revoked"
          onInput={set('action')}
        />
        <TextField
          id="audit-agent"
          label="Agent"
          value={filter.agent}
          placeholder="connector-01"
          onInput={set('agent')}
        />
        <TextField
          id="audit-from"
          label="From (UTC)"
          type="datetime-local"
          value={filter.from}
          onInput={set('from')}
        />
        <TextField
          id="audit-to"
          label="To (UTC)"
          type="datetime-local"
          value={filter.to}
          onInput={set('to')}
        />
        <div class="actions">
          <button type="button" onClick={() => setFilter(NO_AUDIT_FILTER)}>
            Clear filters
          </button>
        </div>
      </form>
      <Alert message={load.error ?? more.error} />
      <AuditTable
        records={records === undefined ? undefined : shown}
        now={now}
        label={`Audit log (of ${records?.length ?? 0} loaded)`}
        absolute
      />
      {!exhausted && records !== undefined && (
        <div class="actions">
          <button type="button" disabled={more.busy} onClick={loadMore}>
            Load older records
          </button>
        </div>
      )}
    </section>
  );
}
