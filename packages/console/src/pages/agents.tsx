// The Connectors and Tunnelers pages: one row per agent with its live status, a filter, and a
// Revoke button confirmed in a dialog.
import { useMemo, useState } from 'preact/hooks';
import {
  Alert,
  ConfirmDialog,
  DataTable,
  PageTitle,
  SelectField,
  TextField,
  TimeCell,
} from '../components/ui';
import { useAction, useConsole, useNow, useResource } from '../context';
import { filterAgents } from '../filter';
import type { AgentFilter } from '../filter';
import type { Agent, AgentStatus } from '../types';

const STATUS_OPTIONS = [
  { value: '', label: 'Any status' },
  { value: 'ONLINE', label: 'ONLINE' },
  { value: 'OFFLINE', label: 'OFFLINE' },
  { value: 'REVOKED', label: 'REVOKED' },
];

/** The table of one agent kind. */
export function AgentsPage({ kind }: { kind: 'connector' | 'tunneler' }) {
  const plural = kind === 'connector' ? 'connectors' : 'tunnelers';
  const title = kind === 'connector' ? 'Connectors' : 'Tunnelers';
  const { api, session } = useConsole();
  const agents = useResource<Agent[]>(`/${plural}`, [plural]);
  const now = useNow(5000);
  const [filter, setFilter] = useState<AgentFilter>({ search: '', status: '' });
  const [revoking, setRevoking] = useState<Agent | undefined>(undefined);
  const [reason, setReason] = useState('');
  const revoke = useAction();
  const rows = useMemo(() => filterAgents(agents.data ?? [], filter), [agents.data, filter]);

  const open = (agent: Agent) => {
    setReason(`revoked in the console by ${session.user}`);
    revoke.setError(undefined);
    setRevoking(agent);
  };
  const confirm = async () => {
    if (revoking === undefined) return;
    const done = await revoke.run(() =>
      api.send('POST', `/${plural}/${encodeURIComponent(revoking.id)}/revoke`, { reason }),
    );
    if (done) {
      setRevoking(undefined);
      await agents.reload();
    }
  };

  return (
    <section aria-labelledby="page-title">
      <PageTitle>{title}</PageTitle>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <TextField
          id={`${kind}-search`}
          label="Search"
          type="search"
          value={filter.search}
          placeholder={kind === 'connector' ? 'id, version, address' : 'id, version, connector'}
          onInput={(search) => setFilter({ ...filter, search })}
        />
        <SelectField
          id={`${kind}-status`}
          label="Status"
          value={filter.status}
          options={STATUS_OPTIONS}
          onChange={(status) => setFilter({ ...filter, status: status as AgentStatus | '' })}
        />
      </form>
      <Alert message={agents.error} />
      <DataTable
        caption={
          agents.data === undefined
            ? `Loading ${plural}…`
            : `${rows.length} of ${agents.data.length} ${plural}`
        }
        columns={[
          'ID',
          'Status',
          kind === 'tunneler' && 'Connector',
          kind === 'connector' && 'Private IP',
          'Version',
          'Upgrade required',
          'Last seen',
          'Certificate expiry',
        ]}
        items={rows}
        row={(agent) => (
          <tr key={agent.id}>
            <td class="mono">{agent.id}</td>
            <td class={`status status-${agent.status.toLowerCase()}`}>{agent.status}</td>
            {kind === 'tunneler' && <td class="mono">{agent.connector_id ?? '—'}</td>}
            {kind === 'connector' && <td class="mono">{agent.private_ip ?? '—'}</td>}
            <td>{agent.version ?? '—'}</td>
            <td>{agent.upgrade_required ? 'yes' : 'no'}</td>
            <TimeCell iso={agent.last_seen} now={now} past />
            <TimeCell iso={agent.certificate_expires_at} now={now} />
            <td>
              <button
                type="button"
                class="danger"
                disabled={agent.status === 'REVOKED'}
                onClick={() => open(agent)}
              >
                Revoke
              </button>
            </td>
          </tr>
        )}
      />
      <ConfirmDialog
        open={revoking !== undefined}
        title={`Revoke ${kind} ${revoking?.id ?? ''}?`}
        confirmLabel="Revoke"
        busy={revoke.busy}
        error={revoke.error}
        onConfirm={() => void confirm()}
        onClose={() => setRevoking(undefined)}
      >
        <p>
          The controller refuses its renewals and calls from now on
          {kind === 'connector' ? ' and ends its control stream' : ''}. A new enrollment token lifts
          the revocation.
        </p>
        <TextField id="revoke-reason" label="Reason" value={reason} required onInput={setReason} />
      </ConfirmDialog>
    </section>
  );
}
