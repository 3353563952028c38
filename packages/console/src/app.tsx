// The console's shell: the sign-in page until a session exists, then the navigation, the page the
// location hash names, the live stream and Sign out.
import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, createApi, errorMessage, publicApi } from './api';
import { Alert, TextField } from './components/ui';
import { ConsoleContext } from './context';
import type { Console } from './context';
import { createLive } from './live';
import type { LiveStatus } from './live';
import { AgentsPage } from './pages/agents';
import { AuditPage } from './pages/audit';
import { CaPage } from './pages/ca';
import { EntriesPage, GrantsPage, ResourcesPage } from './pages/data-plane';
import { OverviewPage } from './pages/overview';
import { TokensPage } from './pages/tokens';
import { UsersPage } from './pages/users';
import { parseRoute, visiblePages } from './route';
import type { PageId } from './route';
import type { Session } from './types';

function SignIn({ onSignedIn, notice }: { onSignedIn: (s: Session) => void; notice?: string }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (e: TargetedSubmitEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await publicApi.session<Session>('POST', { username, password });
      setPassword('');
      onSignedIn(session);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Sigil console</h1>
        {notice !== undefined && <p role="status">{notice}</p>}
        <TextField
          id="username"
          label="Username"
          value={username}
          required
          autoComplete="username"
          onInput={setUsername}
        />
        <TextField
          id="password"
          label="Password"
          type="password"
          value={password}
          required
          autoComplete="current-password"
          onInput={setPassword}
        />
        <Alert message={error} />
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}

function Page({ page }: { page: PageId }) {
  switch (page) {
    case 'overview':
      return <OverviewPage />;
    case 'connectors':
      return <AgentsPage key="connector" kind="connector" />;
    case 'tunnelers':
      return <AgentsPage key="tunneler" kind="tunneler" />;
    case 'tokens':
      return <TokensPage />;
    case 'audit':
      return <AuditPage />;
    case 'ca':
      return <CaPage />;
    case 'entries':
      return <EntriesPage />;
    case 'resources':
      return <ResourcesPage />;
    case 'grants':
      return <GrantsPage />;
    case 'users':
      return <UsersPage />;
  }
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return hash;
}

function SignedIn({
  session,
  onSignedOut,
}: {
  session: Session;
  onSignedOut: (n?: string) => void;
}) {
  const hash = useHash();
  const page = parseRoute(hash, session.role);
  const [liveStatus, setLiveStatus] = useState<LiveStatus>('connecting');
  const [signOutError, setSignOutError] = useState<string | undefined>(undefined);
  const value = useMemo<Console>(
    () => ({
      session,
      api: createApi({
        csrfToken: () => session.csrf_token,
        onUnauthorized: () => onSignedOut('Your session ended: sign in again.'),
      }),
      live: createLive('/api/admin/events'),
    }),
    [session],
  );
  useEffect(() => {
    const stop = value.live.watchStatus(setLiveStatus);
    return () => {
      stop();
      value.live.close();
    };
  }, [value]);
  const signOut = async () => {
    setSignOutError(undefined);
    try {
      await value.api.send('DELETE', '/session');
      onSignedOut();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setSignOutError(errorMessage(err));
    }
  };
  return (
    <ConsoleContext.Provider value={value}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Sigil</span>
        <nav aria-label="Main">
          <ul>
            {visiblePages(session.role).map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span class={`live live-${liveStatus}`} role="status">
            {liveStatus === 'open' ? 'Live' : 'Reconnecting…'}
          </span>
          <span>
            {session.user} ({session.role})
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <Alert message={signOutError} />
      <main id="main">
        {session.role === 'viewer' && (
          <p class="notice">You are signed in as a viewer: the controller refuses changes.</p>
        )}
        <Page key={page} page={page} />
      </main>
    </ConsoleContext.Provider>
  );
}

/** The whole console. */
export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  useEffect(() => {
    publicApi
      .session<Session>('GET')
      .then(setSession)
      .catch((err: unknown) => {
        if (!(err instanceof ApiError && err.status === 401)) setLoadError(errorMessage(err));
        setSession(null);
      });
  }, []);
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null)
    return (
      <>
        <Alert message={loadError} />
        <SignIn
          notice={notice}
          onSignedIn={(s) => {
            setNotice(undefined);
            setLoadError(undefined);
            setSession(s);
          }}
        />
      </>
    );
  return (
    <SignedIn
      session={session}
      onSignedOut={(n) => {
        setNotice(n);
        setSession(null);
      }}
    />
  );
}
