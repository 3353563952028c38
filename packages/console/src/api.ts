// The console's admin API client: same-origin fetch with the session cookie, JSON in and out,
// `X-CSRF-Token` on every state-changing request, refusals as ApiError with the problem's message.
import { readProblem } from './format';
import type { ApiProblem } from './format';

/** A refused admin API request: `message` is the problem body's `detail` (or `title`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  constructor(problem: ApiProblem) {
    super(problem.message);
    this.name = 'ApiError';
    this.status = problem.status;
    this.code = problem.code;
  }
}

/** What the pages call. */
export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** Options of {@link createApi}. */
export interface ApiOptions {
  /** The session's CSRF token (from `GET /api/admin/session`). */
  csrfToken: () => string | undefined;
  /** Called when a request answers 401: the session ended (signed out elsewhere, expired). */
  onUnauthorized: () => void;
}

async function request<T>(
  options: ApiOptions | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const csrf = options?.csrfToken();
  if (method !== 'GET' && csrf !== undefined) headers['x-csrf-token'] = csrf;
  let response: Response;
  try {
    response = await fetch(`/api/admin${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new ApiError({
      status: 0,
      message: `cannot reach the controller: ${(err as Error).message}`,
    });
  }
  const text = await response.text();
  if (!response.ok) {
    const problem = readProblem(response.status, text);
    if (response.status === 401) options?.onUnauthorized();
    throw new ApiError(problem);
  }
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/**
 * The client the signed-in console uses.
 *
 * @example
 * ```ts
 * const api = createApi({ csrfToken: () => session.csrf_token, onUnauthorized: signOut });
 * const connectors = await api.get<Agent[]>('/connectors');
 * ```
 */
export function createApi(options: ApiOptions): Api {
  return {
    get: (path) => request(options, 'GET', path),
    send: (method, path, body) => request(options, method, path, body),
  };
}

/** The unauthenticated calls of the sign-in page. */
export const publicApi = {
  session: <T>(method: 'GET' | 'POST', body?: unknown) =>
    request<T>(undefined, method, '/session', body),
};

/**
 * The message to show for anything a request threw.
 *
 * @example
 * ```ts
 * setError(errorMessage(err));
 * ```
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
