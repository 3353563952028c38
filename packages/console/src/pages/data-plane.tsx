// The Entries, Resources and Grants pages: registration entries of the Workload API
// (docs/workload-api.md) and the data plane's resources and grants (docs/data-plane.md), each a
// list with a create form and a Delete button per row.
import type { ComponentChildren, JSX, TargetedSubmitEvent } from 'preact';
import { useState } from 'preact/hooks';
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
import type { Resource as Fetched } from '../context';
import type { Entry, Grant, Resource } from '../types';

/** The delete confirmation and its call, shared by the three pages. */
function useDelete(reload: () => Promise<void>) {
  const { api } = useConsole();
  const [target, setTarget] = useState<{ path: string; label: string } | undefined>();
  const action = useAction();
  const dialog = (
    <ConfirmDialog
      open={target !== undefined}
      title={`Delete ${target?.label ?? ''}?`}
      confirmLabel="Delete"
      busy={action.busy}
      error={action.error}
      onConfirm={() =>
        void (async () => {
          if (target === undefined) return;
          if (await action.run(() => api.send('DELETE', target.path))) {
            setTarget(undefined);
            await reload();
          }
        })()
      }
      onClose={() => setTarget(undefined)}
    />
  );
  const ask = (path: string, label: string) => {
    action.setError(undefined);
    setTarget({ path, label });
  };
  return { dialog, ask };
}

/** A create form: the fields, its refusal, the submit button. */
function CreateForm({
  title,
  submitLabel,
  onSubmit,
  children,
}: {
  title: string;
  submitLabel: string;
  onSubmit: () => Promise<unknown>;
  children: ComponentChildren;
}) {
  const action = useAction();
  const id = `${submitLabel.toLowerCase().replaceAll(' ', '-')}-title`;
  const submit = (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    void action.run(onSubmit);
  };
  return (
    <form class="card" onSubmit={submit} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
      <Alert message={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

function Table<T>({
  caption,
  fetched,
  columns,
  row,
}: {
  caption: string;
  fetched: Fetched<T[]>;
  columns: string[];
  row: (item: T) => JSX.Element;
}) {
  return (
    <>
      <Alert message={fetched.error} />
      <DataTable
        caption={fetched.data === undefined ? 'Loading…' : `${caption}: ${fetched.data.length}`}
        columns={columns}
        items={fetched.data ?? []}
        row={row}
      />
    </>
  );
}

function DeleteButton({ onClick }: { onClick: () => void }) {
  return (
    <td>
      <button type="button" class="danger" onClick={onClick}>
        Delete
      </button>
    </td>
  );
}

/** The Entries page: registration entries of the Workload API. */
export function EntriesPage() {
  const { api } = useConsole();
  const entries = useResource<Entry[]>('/entries', ['entries']);
  const now = useNow(30_000);
  const del = useDelete(entries.reload);
  const [spiffeId, setSpiffeId] = useState('');
  const [parentId, setParentId] = useState('');
  const [selectors, setSelectors] = useState('');
  const [x509Ttl, setX509Ttl] = useState('3600');
  const [jwtTtl, setJwtTtl] = useState('300');
  const create = async () => {
    await api.send('POST', '/entries', {
      spiffe_id: spiffeId.trim(),
      parent_id: parentId.trim(),
      selectors: selectors
        .split(/[\n,]/)
        .map((s) => s.trim())
        .filter(Boolean),
      x509_ttl_seconds: Number(x509Ttl),
      jwt_ttl_seconds: Number(jwtTtl),
    });
    setSpiffeId('');
    setSelectors('');
    await entries.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Entries</PageTitle>
      <p>
        Registration entries: the connector <code>parent_id</code> hands <code>spiffe_id</code> to
        the local processes that have every one of the selectors.
      </p>
      <Table
        caption="Registration entries"
        fetched={entries}
        columns={['SPIFFE ID', 'Parent', 'Selectors', 'X.509 TTL', 'JWT TTL', 'Created']}
        row={(e) => (
          <tr key={e.id}>
            <td class="mono">{e.spiffe_id}</td>
            <td class="mono">{e.parent_id}</td>
            <td class="mono">{e.selectors.join(' ')}</td>
            <td>{e.x509_ttl_seconds} s</td>
            <td>{e.jwt_ttl_seconds} s</td>
            <TimeCell iso={e.created_at} now={now} past />
            <DeleteButton onClick={() => del.ask(`/entries/${e.id}`, `entry ${e.spiffe_id}`)} />
          </tr>
        )}
      />
      <CreateForm title="New entry" submitLabel="Create entry" onSubmit={create}>
        <TextField
          id="entry-spiffe-id"
          label="SPIFFE ID"
          value={spiffeId}
          required
          placeholder="spiffe://example.org/billing"
          onInput={setSpiffeId}
        />
        <TextField
          id="entry-parent-id"
          label="Parent ID"
          value={parentId}
          required
          placeholder="spiffe://example.org/connector/edge-1"
          onInput={setParentId}
        />
        <div class="field">
          <label for="entry-selectors">Selectors</label>
          <textarea
            id="entry-selectors"
            rows={3}
            value={selectors}
            required
            aria-describedby="entry-selectors-hint"
            onInput={(e) => setSelectors(e.currentTarget.value)}
          />
          <p class="hint" id="entry-selectors-hint">
            One per line, e.g. unix:uid:1000 and unix:path:/usr/bin/node
          </p>
        </div>
        <TextField
          id="entry-x509-ttl"
          label="X.509 TTL (seconds)"
          type="number"
          value={x509Ttl}
          onInput={setX509Ttl}
        />
        <TextField
          id="entry-jwt-ttl"
          label="JWT TTL (seconds)"
          type="number"
          value={jwtTtl}
          onInput={setJwtTtl}
        />
      </CreateForm>
      {del.dialog}
    </section>
  );
}

/** The Resources page: what tunnelers may reach through a connector. */
export function ResourcesPage() {
  const { api } = useConsole();
  const resources = useResource<Resource[]>('/resources', ['resources']);
  const now = useNow(30_000);
  const del = useDelete(resources.reload);
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [connectorId, setConnectorId] = useState('');
  const create = async () => {
    await api.send('POST', '/resources', {
      name: name.trim(),
      address: address.trim(),
      connector_id: connectorId.trim(),
    });
    setName('');
    setAddress('');
    await resources.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Resources</PageTitle>
      <Table
        caption="Resources"
        fetched={resources}
        columns={['Name', 'Address', 'Connector', 'Created']}
        row={(r) => (
          <tr key={r.name}>
            <td class="mono">{r.name}</td>
            <td class="mono">{r.address}</td>
            <td class="mono">{r.connector_id}</td>
            <TimeCell iso={r.created_at} now={now} past />
            <DeleteButton
              onClick={() =>
                del.ask(`/resources/${encodeURIComponent(r.name)}`, `resource ${r.name}`)
              }
            />
          </tr>
        )}
      />
      <CreateForm title="New resource" submitLabel="Create resource" onSubmit={create}>
        <TextField id="resource-name" label="Name" value={name} required onInput={setName} />
        <TextField
          id="resource-address"
          label="Address"
          value={address}
          required
          placeholder="10.0.0.5:5432 or 10.0.0.0/24:8000-8099"
          onInput={setAddress}
        />
        <TextField
          id="resource-connector-id"
          label="Connector ID"
          value={connectorId}
          required
          onInput={setConnectorId}
        />
      </CreateForm>
      {del.dialog}
    </section>
  );
}

/** The Grants page: which tunnelers (by id or label) may reach a resource. */
export function GrantsPage() {
  const { api } = useConsole();
  const grants = useResource<Grant[]>('/grants', ['grants', 'resources']);
  const resources = useResource<Resource[]>('/resources', ['resources']);
  const now = useNow(30_000);
  const del = useDelete(grants.reload);
  const [resource, setResource] = useState('');
  const [by, setBy] = useState<'tunneler_id' | 'label'>('tunneler_id');
  const [value, setValue] = useState('');
  const names = (resources.data ?? []).map((r) => ({ value: r.name, label: r.name }));
  const create = async () => {
    await api.send('POST', '/grants', {
      resource: resource === '' ? (names[0]?.value ?? '') : resource,
      [by]: value.trim(),
    });
    setValue('');
    await grants.reload();
  };
  return (
    <section aria-labelledby="page-title">
      <PageTitle>Grants</PageTitle>
      <Table
        caption="Grants"
        fetched={grants}
        columns={['Resource', 'Tunneler', 'Label', 'Created']}
        row={(g) => (
          <tr key={g.id}>
            <td class="mono">{g.resource}</td>
            <td class="mono">{g.tunneler_id ?? '—'}</td>
            <td class="mono">{g.label ?? '—'}</td>
            <TimeCell iso={g.created_at} now={now} past />
            <DeleteButton onClick={() => del.ask(`/grants/${g.id}`, `grant on ${g.resource}`)} />
          </tr>
        )}
      />
      <CreateForm title="New grant" submitLabel="Create grant" onSubmit={create}>
        <SelectField
          id="grant-resource"
          label="Resource"
          value={resource === '' ? (names[0]?.value ?? '') : resource}
          options={names}
          onChange={setResource}
        />
        <SelectField
          id="grant-by"
          label="Grant to"
          value={by}
          options={[
            { value: 'tunneler_id', label: 'one tunneler (by id)' },
            { value: 'label', label: 'every tunneler with a label' },
          ]}
          onChange={(v) => setBy(v as 'tunneler_id' | 'label')}
        />
        <TextField
          id="grant-value"
          label={by === 'tunneler_id' ? 'Tunneler ID' : 'Label'}
          value={value}
          required
          placeholder={by === 'tunneler_id' ? 'laptop-7' : 'team=db'}
          onInput={setValue}
        />
      </CreateForm>
      {del.dialog}
    </section>
  );
}
