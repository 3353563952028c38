// What every page of the signed-in console reads: the API client, the session, the live stream.
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from './api';
import type { Api } from './api';
import type { Live } from './live';
import type { Session } from './types';

/** The signed-in console. */
export interface Console {
  api: Api;
  session: Session;
  live: Live;
}

/** Provided by the app once signed in. */
export const ConsoleContext = createContext<Console | null>(null);

/**
 * The signed-in console (only inside the app's pages).
 *
 * @example
 * ```ts
 * const { api, session } = useConsole();
 * ```
 */
export function useConsole(): Console {
  const value = useContext(ConsoleContext);
  if (value === null) throw new Error('useConsole outside the signed-in console');
  return value;
}

/** A fetched admin API answer. */
export interface Resource<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => Promise<void>;
}

/**
 * GETs `path` now, again whenever the live stream names one of `topics`, and on `reload()`.
 *
 * @example
 * ```ts
 * const connectors = useResource<Agent[]>('/connectors', ['connectors']);
 * ```
 */
export function useResource<T>(path: string, topics: readonly string[]): Resource<T> {
  const { api, live } = useConsole();
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const call = ++latest.current;
    try {
      const answer = await api.get<T>(path);
      if (call !== latest.current) return;
      setData(answer);
      setError(undefined);
    } catch (err) {
      if (call === latest.current) setError(errorMessage(err));
    }
  }, [api, path]);
  const topicKey = topics.join(',');
  useEffect(() => {
    void reload();
    return live.subscribe(topicKey.split(','), () => void reload());
  }, [reload, live, topicKey]);
  return { data, error, reload };
}

/** A state-changing call in progress and what it said. */
export interface Action {
  busy: boolean;
  error: string | undefined;
  setError: (message: string | undefined) => void;
  /** Runs `work`; resolves true when it succeeded, false when it threw (the error is kept). */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
}

/**
 * Tracks one button's or form's call: busy while it runs, its refusal as `error`.
 *
 * @example
 * ```ts
 * const action = useAction();
 * await action.run(() => api.send('POST', '/ca/prepare', {}));
 * ```
 */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/**
 * The current time, refreshed every `intervalMs` (for "12 s ago" texts).
 *
 * @example
 * ```ts
 * const now = useNow(5000);
 * ```
 */
export function useNow(intervalMs: number): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
