// The Certificate authority page: the runtime CA's generations, the activation check, and the
// rotation steps (prepare, activate, retire) with the API's refusals shown as it words them.
import { useState } from 'preact/hooks';
import { Alert, PageTitle, Time } from '../components/ui';
import { useAction, useConsole, useNow, useResource } from '../context';
import { formatTime } from '../format';
import type { CaAgentAck, CaStatus } from '../types';
import { CaSummary } from './overview';

function Agents({ title, agents }: { title: string; agents: CaAgentAck[] }) {
  return (
    <div>
      <h3>{title}</h3>
      {agents.length === 0 ? (
        <p>none</p>
      ) : (
        <ul class="inline-list">
          {agents.map((a) => (
            <li key={`${a.kind}/${a.id}`} class="mono">
              {a.kind} {a.id} (bundle {a.bundle_version ?? '—'})
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The Certificate authority page. */
export function CaPage() {
  const { api } = useConsole();
  const ca = useResource<CaStatus>('/ca', ['ca', 'connectors', 'tunnelers']);
  const now = useNow(10_000);
  const step = useAction();
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [force, setForce] = useState(false);
  const run = async (name: 'prepare' | 'activate' | 'retire') => {
    setMessage(undefined);
    const body =
      name === 'retire' && force ? { force: true } : name === 'activate' ? undefined : {};
    if (await step.run(() => api.send('POST', `/ca/${name}`, body)))
      setMessage(`${name[0]!.toUpperCase()}${name.slice(1)}: done.`);
    await ca.reload();
  };
  const activation = ca.data?.activation;
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Certificate authority</PageTitle>
      <Alert message={ca.error} />
      {ca.data !== undefined && (
        <>
          <CaSummary ca={ca.data} now={now} />
          <div class="table-wrap">
            <table>
              <caption>Runtime CA generations</caption>
              <thead>
                <tr>
                  <th scope="col">Role</th>
                  <th scope="col">Generation</th>
                  <th scope="col">Fingerprint</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Created</th>
                  <th scope="col">Activated</th>
                  <th scope="col">Live certificates</th>
                </tr>
              </thead>
              <tbody>
                {ca.data.generations.map((g) => (
                  <tr key={g.generation}>
                    <td>{g.role}</td>
                    <td>
                      {g.generation}
                      {g.upstream ? ' (upstream)' : ''}
                    </td>
                    <td class="mono fingerprint">{g.fingerprint}</td>
                    <td>{formatTime(g.not_after)}</td>
                    <td>{formatTime(g.created_at)}</td>
                    <td>{formatTime(g.activated_at)}</td>
                    <td>
                      {g.live_certificates.connector} connectors, {g.live_certificates.tunneler}{' '}
                      tunnelers
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {activation !== undefined && activation !== null && (
            <section class="card" aria-labelledby="activation-title">
              <h2 id="activation-title">Activation check</h2>
              <p>
                {activation.allowed
                  ? `Activation allowed (${activation.basis}).`
                  : 'Activation refused: online agents have not acknowledged the new root yet.'}{' '}
                {activation.grace_period_ends_at !== null && (
                  <>
                    Grace period ends {formatTime(activation.grace_period_ends_at)} (
                    <Time iso={activation.grace_period_ends_at} now={now} />
                    ).
                  </>
                )}
              </p>
              <div class="grid">
                <Agents title="Acknowledged" agents={activation.acknowledged} />
                <Agents title="Pending" agents={activation.pending} />
                <Agents title="Offline" agents={activation.offline} />
              </div>
            </section>
          )}
        </>
      )}
      <section class="card" aria-labelledby="rotation-title">
        <h2 id="rotation-title">Rotation</h2>
        <p>
          Prepare adds the next generation's root to the bundle; Activate makes it sign once the
          online agents acknowledged it (or the grace period ended); Retire removes the previous
          root once nothing live chains to it.
        </p>
        <div class="actions">
          <button type="button" disabled={step.busy} onClick={() => void run('prepare')}>
            Prepare
          </button>
          <button type="button" disabled={step.busy} onClick={() => void run('activate')}>
            Activate
          </button>
          <button type="button" disabled={step.busy} onClick={() => void run('retire')}>
            Retire
          </button>
          <span class="check">
            <input
              id="retire-force"
              type="checkbox"
              checked={force}
              onChange={(e) => setForce(e.currentTarget.checked)}
            />
            <label for="retire-force">Force retire (tell agents to renew first)</label>
          </span>
        </div>
        <Alert message={step.error} />
        {message !== undefined && (
          <p role="status" class="ok">
            {message}
          </p>
        )}
      </section>
    </section>
  );
}
