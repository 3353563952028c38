// The Users page (admin role): console users and API tokens. A generated password and a new API
// token are shown once.
import type { TargetedSubmitEvent } from 'preact';
import { useState } from 'preact/hooks';
import {
  Alert,
  ConfirmDialog,
  CopyButton,
  DataTable,
  PageTitle,
  SelectField,
  TextField,
  TimeCell,
} from '../components/ui';
import { useAction, useConsole, useNow, useResource } from '../context';
import type { AdminUser, ApiToken } from '../types';

const ROLES = [
  { value: 'viewer', label: 'viewer (read only)' },
  { value: 'admin', label: 'admin (everything)' },
];

/** A secret the API returns once (a generated password, a new API token). */
function ShownOnce({
  id,
  label,
  copyLabel,
  value,
}: {
  id: string;
  label: string;
  copyLabel: string;
  value: string;
}) {
  return (
    <div class="field created">
      <label for={id}>{label}</label>
      <output id={id} class="secret">
        {value}
      </output>
      <p class="hint">Shown only now.</p>
      <CopyButton text={value} label={copyLabel} />
    </div>
  );
}

function UsersSection() {
  const { api, session } = useConsole();
  const users = useResource<AdminUser[]>('/users', ['users']);
  const now = useNow(30_000);
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [password, setPassword] = useState('');
  const [generated, setGenerated] = useState<{ name: string; password: string } | undefined>();
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const add = useAction();
  const remove = useAction();
  const submit = async (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setGenerated(undefined);
    await add.run(async () => {
      const created = await api.send<{ name: string; password?: string }>('POST', '/users', {
        name: name.trim(),
        role,
        ...(password === '' ? {} : { password }),
      });
      if (created.password !== undefined)
        setGenerated({ name: created.name, password: created.password });
      setName('');
      setPassword('');
      await users.reload();
    });
  };
  const confirmRemove = async () => {
    if (removing === undefined) return;
    if (await remove.run(() => api.send('DELETE', `/users/${encodeURIComponent(removing)}`))) {
      setRemoving(undefined);
      await users.reload();
    }
  };
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <Alert message={users.error} />
      <DataTable
        caption={'Console users'}
        columns={['Name', 'Role', 'Created', 'Updated']}
        items={users.data ?? []}
        row={(u) => (
          <tr key={u.name}>
            <td class="mono">{u.name}</td>
            <td>{u.role}</td>
            <TimeCell iso={u.created_at} now={now} past />
            <TimeCell iso={u.updated_at} now={now} past />
            <td>
              <button
                type="button"
                class="danger"
                disabled={u.name === session.user}
                onClick={() => {
                  remove.setError(undefined);
                  setRemoving(u.name);
                }}
              >
                Remove
              </button>
            </td>
          </tr>
        )}
      />
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="add-user-title">
        <h3 id="add-user-title">Add user</h3>
        <TextField id="user-name" label="Name" value={name} required onInput={setName} />
        <SelectField id="user-role" label="Role" value={role} options={ROLES} onChange={setRole} />
        <TextField
          id="user-password"
          label="Password"
          type="password"
          value={password}
          autoComplete="new-password"
          hint="Leave empty to have one generated (shown once)."
          onInput={setPassword}
        />
        <Alert message={add.error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={add.busy}>
            Add user
          </button>
        </div>
        {generated !== undefined && (
          <ShownOnce
            id="generated-password"
            label={`Password of ${generated.name}`}
            copyLabel="Copy password"
            value={generated.password}
          />
        )}
      </form>
      <ConfirmDialog
        open={removing !== undefined}
        title={`Remove user ${removing ?? ''}?`}
        confirmLabel="Remove"
        busy={remove.busy}
        error={remove.error}
        onConfirm={() => void confirmRemove()}
        onClose={() => setRemoving(undefined)}
      >
        <p>Their sessions and API tokens stop working at once.</p>
      </ConfirmDialog>
    </section>
  );
}

const DAY = 86_400;

function ApiTokensSection() {
  const { api } = useConsole();
  const tokens = useResource<ApiToken[]>('/api-tokens', ['api-tokens', 'users']);
  const now = useNow(30_000);
  const [name, setName] = useState('');
  const [days, setDays] = useState('30');
  const [created, setCreated] = useState<{ name: string; token: string } | undefined>();
  const create = useAction();
  const revoke = useAction();
  const submit = async (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setCreated(undefined);
    await create.run(async () => {
      const answer = await api.send<{ name: string; token: string }>('POST', '/api-tokens', {
        name: name.trim(),
        expires_in_seconds: Math.round(Number(days) * DAY),
      });
      setCreated({ name: answer.name, token: answer.token });
      setName('');
      await tokens.reload();
    });
  };
  const revokeToken = async (token: ApiToken) => {
    if (await revoke.run(() => api.send('DELETE', `/api-tokens/${encodeURIComponent(token.id)}`)))
      await tokens.reload();
  };
  return (
    <section aria-labelledby="api-tokens-title">
      <h2 id="api-tokens-title">API tokens</h2>
      <Alert message={tokens.error ?? revoke.error} />
      <DataTable
        caption={'API tokens (Authorization: Bearer sigil_at_…)'}
        columns={['Name', 'User', 'Created', 'Expires', 'Last used', 'Revoked']}
        items={tokens.data ?? []}
        row={(t) => (
          <tr key={t.id}>
            <td class="mono">{t.name}</td>
            <td class="mono">{t.user}</td>
            <TimeCell iso={t.created_at} now={now} past />
            <TimeCell iso={t.expires_at} now={now} />
            <TimeCell iso={t.last_used_at} now={now} past />
            <TimeCell iso={t.revoked_at} now={now} past />
            <td>
              <button
                type="button"
                class="danger"
                disabled={revoke.busy || t.revoked_at !== null}
                onClick={() => void revokeToken(t)}
              >
                Revoke token
              </button>
            </td>
          </tr>
        )}
      />
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="add-token-title">
        <h3 id="add-token-title">Create API token</h3>
        <TextField id="api-token-name" label="Token name" value={name} required onInput={setName} />
        <TextField
          id="api-token-days"
          label="Expires in (days)"
          type="number"
          min={1}
          max={365}
          value={days}
          required
          onInput={setDays}
        />
        <Alert message={create.error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={create.busy}>
            Create API token
          </button>
        </div>
        {created !== undefined && (
          <ShownOnce
            id="api-token"
            label="API token"
            copyLabel="Copy API token"
            value={created.token}
          />
        )}
      </form>
    </section>
  );
}

/** The Users page. */
export function UsersPage() {
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Users</PageTitle>
      <UsersSection />
      <ApiTokensSection />
    </section>
  );
}
