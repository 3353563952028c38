// Live updates: one EventSource on `GET /api/admin/events`; each `change` event names topics
// (`connectors`, `tunnelers`, `tokens`, ...) and the pages showing them refetch.

/** `'open'` while the stream is connected, `'connecting'` while the browser retries. */
export type LiveStatus = 'open' | 'connecting';

/** The signed-in console's event stream. */
export interface Live {
  /** Calls `listener` on every change naming one of `topics` (`'*'`: every change). */
  subscribe(topics: readonly string[], listener: () => void): () => void;
  /** Calls `listener` with the stream's status now and on each change. */
  watchStatus(listener: (status: LiveStatus) => void): () => void;
  close(): void;
}

/**
 * Opens the event stream (the browser reconnects it by itself after a drop).
 *
 * @example
 * ```ts
 * const live = createLive('/api/admin/events');
 * const stop = live.subscribe(['connectors'], () => void reload());
 * ```
 */
export function createLive(url: string): Live {
  const source = new EventSource(url, { withCredentials: true });
  const listeners = new Set<{ topics: readonly string[]; listener: () => void }>();
  const statusListeners = new Set<(status: LiveStatus) => void>();
  let status: LiveStatus = 'connecting';
  const setStatus = (next: LiveStatus) => {
    status = next;
    for (const listener of statusListeners) listener(next);
  };
  source.addEventListener('open', () => setStatus('open'));
  source.addEventListener('error', () => setStatus('connecting'));
  source.addEventListener('change', (event) => {
    let topics: string[] = [];
    try {
      const data = JSON.parse((event as MessageEvent<string>).data) as { topics?: unknown };
      if (Array.isArray(data.topics)) topics = data.topics.filter((t) => typeof t === 'string');
    } catch {
      return;
    }
    for (const entry of [...listeners])
      if (entry.topics.includes('*') || entry.topics.some((t) => topics.includes(t)))
        entry.listener();
  });
  return {
    subscribe(topics, listener) {
      const entry = { topics, listener };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    watchStatus(listener) {
      statusListeners.add(listener);
      listener(status);
      return () => statusListeners.delete(listener);
    },
    close: () => source.close(),
  };
}
