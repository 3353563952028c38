// The Overview page: totals per agent kind, the certificate authority's status and the latest
// activity.
import { Alert, PageTitle, Time } from '../components/ui';
import { useNow, useResource } from '../context';
import { countAgents } from '../filter';
import type { AgentCounts } from '../filter';
import { formatTime } from '../format';
import type { Agent, CaStatus, Summary } from '../types';
import { AuditTable } from './audit';

// No links in these headings: a second link named `Connectors` next to the navigation's would
// make the accessible names ambiguous.
function Totals({ title, counts }: { title: string; counts?: AgentCounts }) {
  const id = `totals-${title.toLowerCase()}`;
  return (
    <section class="card totals" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <dl>
        <div>
          <dt>Total</dt>
          <dd>{counts?.total ?? '…'}</dd>
        </div>
        <div>
          <dt>Online</dt>
          <dd class="status-online">{counts?.online ?? '…'}</dd>
        </div>
        <div>
          <dt>Offline</dt>
          <dd class="status-offline">{counts?.offline ?? '…'}</dd>
        </div>
        <div>
          <dt>Revoked</dt>
          <dd class="status-revoked">{counts?.revoked ?? '…'}</dd>
        </div>
      </dl>
    </section>
  );
}

/** The certificate authority's generations in short, for the overview. */
export function CaSummary({ ca, now }: { ca: CaStatus; now: Date }) {
  const current = ca.generations.find((g) => g.role === 'current');
  const next = ca.generations.find((g) => g.role === 'next');
  const previous = ca.generations.find((g) => g.role === 'previous');
  return (
    <dl class="facts">
      <div>
        <dt>Current generation</dt>
        <dd>{current === undefined ? '—' : current.generation}</dd>
      </div>
      <div>
        <dt>Expires</dt>
        <dd>
          {current === undefined ? '—' : formatTime(current.not_after)} (
          <Time iso={current?.not_after} now={now} />)
        </dd>
      </div>
      <div>
        <dt>Next rotation</dt>
        <dd>
          {next !== undefined ? (
            `generation ${next.generation} prepared, ${ca.activation?.allowed === true ? 'ready to activate' : 'waiting for agents'}`
          ) : typeof ca.next_rotation_at === 'string' ? (
            <>
              {formatTime(ca.next_rotation_at)} (<Time iso={ca.next_rotation_at} now={now} />)
            </>
          ) : ca.auto_rotation === true ? (
            'automatic'
          ) : (
            'manual (CA_AUTO_ROTATE is off)'
          )}
        </dd>
      </div>
      <div>
        <dt>Previous generation</dt>
        <dd>{previous === undefined ? 'none' : `${previous.generation} (still in the bundle)`}</dd>
      </div>
      <div>
        <dt>Bundle version</dt>
        <dd>{ca.bundle_version}</dd>
      </div>
    </dl>
  );
}

/** The Overview page. */
export function OverviewPage() {
  const connectors = useResource<Agent[]>('/connectors', ['connectors']);
  const tunnelers = useResource<Agent[]>('/tunnelers', ['tunnelers']);
  const summary = useResource<Summary>('/summary', ['*']);
  const ca = useResource<CaStatus>('/ca', ['ca']);
  const now = useNow(10_000);
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Overview</PageTitle>
      <Alert message={connectors.error ?? tunnelers.error ?? summary.error ?? ca.error} />
      <div class="grid">
        <Totals title="Connectors" counts={connectors.data && countAgents(connectors.data)} />
        <Totals title="Tunnelers" counts={tunnelers.data && countAgents(tunnelers.data)} />
        <section class="card" aria-labelledby="overview-ca">
          <h2 id="overview-ca">Certificate authority</h2>
          {ca.data === undefined ? <p>Loading…</p> : <CaSummary ca={ca.data} now={now} />}
        </section>
      </div>
      <h2>Latest activity</h2>
      <AuditTable records={summary.data?.latest_activity} now={now} label="Latest activity" />
    </section>
  );
}
