// The Tokens page: create a connector or tunneler enrollment token, shown once with its expiry
// and the install command; the pending tokens with Cancel.
import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  Alert,
  CopyButton,
  DataTable,
  PageTitle,
  TextField,
  Time,
  TimeCell,
} from '../components/ui';
import { useAction, useConsole, useNow, useResource } from '../context';
import { formatTime } from '../format';
import {
  CONNECTOR_LISTEN_PORT,
  DEFAULT_CA_PATH,
  buildEnrollCommand,
  buildInstallCommand,
  defaultControllerAddr,
  hostPort,
} from '../install-command';
import type { AgentKind } from '../install-command';
import type { Agent, CreatedToken, PendingToken, Summary } from '../types';

function CreateForm({
  kind,
  connectors,
  onCreated,
}: {
  kind: AgentKind;
  connectors: Agent[] | undefined;
  onCreated: (token: CreatedToken) => void;
}) {
  const { api } = useConsole();
  const [id, setId] = useState('');
  const [connectorId, setConnectorId] = useState('');
  const action = useAction();
  const submit = async (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    let created: CreatedToken | undefined;
    const done = await action.run(async () => {
      created = await api.send<CreatedToken>(
        'POST',
        '/tokens',
        kind === 'connector'
          ? { kind, id: id.trim() }
          : { kind, id: id.trim(), connector_id: connectorId.trim() },
      );
    });
    if (done && created !== undefined)
      onCreated(kind === 'tunneler' ? { ...created, connector_id: connectorId.trim() } : created);
  };
  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby={`${kind}-form-title`}>
      <h2 id={`${kind}-form-title`}>New {kind} token</h2>
      {kind === 'tunneler' && (
        <TextField id="tunneler-id" label="Tunneler ID" value={id} required onInput={setId} />
      )}
      <TextField
        id={`${kind}-connector-id`}
        label="Connector ID"
        value={kind === 'connector' ? id : connectorId}
        required
        list={kind === 'tunneler' ? 'known-connectors' : undefined}
        hint="1-128 of A-Z a-z 0-9 . _ -"
        onInput={kind === 'connector' ? setId : setConnectorId}
      />
      {kind === 'tunneler' && (
        <datalist id="known-connectors">
          {(connectors ?? []).map((c) => (
            <option key={c.id} value={c.id} />
          ))}
        </datalist>
      )}
      <Alert message={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Create token
        </button>
      </div>
    </form>
  );
}

function CreatedTokenView({
  created,
  connectors,
  grpcListenAddr,
}: {
  created: CreatedToken;
  connectors: Agent[] | undefined;
  grpcListenAddr: string | null | undefined;
}) {
  const host = location.hostname === '' ? 'localhost' : location.hostname;
  const [controllerAddr, setControllerAddr] = useState<string | undefined>(undefined);
  const [caPath, setCaPath] = useState(DEFAULT_CA_PATH);
  const [connectorAddr, setConnectorAddr] = useState<string | undefined>(undefined);
  const now = useNow(5000);
  // Keyboard and screen reader users land on the new token.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [created]);
  // A tunneler's connector address: where its connector listens, from the connector's address.
  const connectorIp = (connectors ?? []).find((c) => c.id === created.connector_id)?.private_ip;
  const effectiveConnectorAddr =
    connectorAddr ?? hostPort(connectorIp ?? '<connector-ip>', CONNECTOR_LISTEN_PORT);
  const effectiveControllerAddr = controllerAddr ?? defaultControllerAddr(grpcListenAddr, host);
  const options = {
    kind: created.kind,
    id: created.id,
    token: created.token,
    controllerAddr: effectiveControllerAddr,
    caPath,
    connectorAddr: effectiveConnectorAddr,
  };
  const install = buildInstallCommand(options);
  const enroll = buildEnrollCommand(options);
  return (
    <section class="card created" aria-labelledby="created-title">
      <h2 id="created-title" ref={heading} tabIndex={-1}>
        Token for {created.kind} {created.id}
      </h2>
      <p>
        Shown only now: the controller keeps only its hash. It enrolls{' '}
        <code>{created.spiffe_id}</code> once and expires{' '}
        <Time iso={created.expires_at} now={now} /> (
        <span id="token-expiry">{formatTime(created.expires_at)}</span>).
      </p>
      <div class="field">
        <label for="enrollment-token">Enrollment token</label>
        <output id="enrollment-token" class="secret">
          {created.token}
        </output>
        <CopyButton text={created.token} label="Copy token" />
      </div>
      <fieldset>
        <legend>Install settings</legend>
        <TextField
          id="install-controller-addr"
          label="Controller address"
          value={effectiveControllerAddr}
          hint="host:port of the controller's gRPC port (CONTROLLER_ADDR) as the agent host reaches it"
          onInput={setControllerAddr}
        />
        <TextField
          id="install-ca-path"
          label="Bootstrap CA path"
          value={caPath}
          hint="where the controller's bootstrap-ca.crt lies on the agent host (CONTROLLER_CA_PATH)"
          onInput={setCaPath}
        />
        {created.kind === 'tunneler' && (
          <TextField
            id="install-connector-addr"
            label="Connector address"
            value={effectiveConnectorAddr}
            hint="host:port where the tunneler's connector listens (CONNECTOR_ADDR)"
            onInput={setConnectorAddr}
          />
        )}
      </fieldset>
      <div class="field">
        <label for="install-command">Install command</label>
        <output id="install-command" class="command">
          {install}
        </output>
        <p class="hint">
          Run on the agent host from a Sigil checkout: installs the {created.kind} as a systemd
          service, enrolls it once and starts it.
        </p>
        <CopyButton text={install} label="Copy install command" />
      </div>
      <div class="field">
        <label for="enroll-command">Enroll command</label>
        <output id="enroll-command" class="command">
          {enroll}
        </output>
        <p class="hint">
          Without systemd: enrolls into STATE_DIR; then run <code>sigil-{created.kind} run</code>{' '}
          with the same STATE_DIR.
        </p>
        <CopyButton text={enroll} label="Copy enroll command" />
      </div>
    </section>
  );
}

/** The Tokens page. */
export function TokensPage() {
  const { api } = useConsole();
  const pending = useResource<PendingToken[]>('/tokens', ['tokens']);
  // Fetched with the page, so the install command is complete when a token is created.
  const connectors = useResource<Agent[]>('/connectors', ['connectors']);
  const summary = useResource<Summary>('/summary', []);
  const now = useNow(5000);
  const [form, setForm] = useState<AgentKind | undefined>(undefined);
  const [created, setCreated] = useState<CreatedToken | undefined>(undefined);
  const cancel = useAction();
  const onCreated = (token: CreatedToken) => {
    setCreated(token);
    setForm(undefined);
    void pending.reload();
  };
  const cancelToken = async (token: PendingToken) => {
    if (await cancel.run(() => api.send('DELETE', `/tokens/${token.token_id}`)))
      await pending.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Tokens</PageTitle>
      <div class="actions">
        <button
          type="button"
          aria-expanded={form === 'connector'}
          onClick={() => {
            setCreated(undefined);
            setForm(form === 'connector' ? undefined : 'connector');
          }}
        >
          Create connector token
        </button>
        <button
          type="button"
          aria-expanded={form === 'tunneler'}
          onClick={() => {
            setCreated(undefined);
            setForm(form === 'tunneler' ? undefined : 'tunneler');
          }}
        >
          Create tunneler token
        </button>
      </div>
      {form !== undefined && (
        <CreateForm key={form} kind={form} connectors={connectors.data} onCreated={onCreated} />
      )}
      {created !== undefined && (
        <CreatedTokenView
          created={created}
          connectors={connectors.data}
          grpcListenAddr={summary.data?.grpc_listen_addr}
        />
      )}
      <h2>Pending tokens</h2>
      <Alert message={pending.error ?? cancel.error} />
      <DataTable
        caption={
          pending.data === undefined
            ? 'Loading pending tokens…'
            : `${pending.data.length} unused, unexpired tokens`
        }
        columns={['Token', 'Kind', 'Agent ID', 'Connector', 'Created', 'Expires']}
        items={pending.data ?? []}
        row={(token) => (
          <tr key={token.token_id}>
            <td class="mono">{token.token_id}</td>
            <td>{token.kind}</td>
            <td class="mono">{token.id}</td>
            <td class="mono">{token.connector_id ?? '—'}</td>
            <TimeCell iso={token.created_at} now={now} past />
            <TimeCell iso={token.expires_at} now={now} />
            <td>
              <button type="button" disabled={cancel.busy} onClick={() => void cancelToken(token)}>
                Cancel
              </button>
            </td>
          </tr>
        )}
      />
    </section>
  );
}
