// Admin API calls as a browser or script makes them: cookies, CSRF header, a chosen loopback
// source address (127.0.0.2, ... for per-address limits), HTTPS pinned to a CA.
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface AdminHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export interface AdminHttpInit {
  method?: string;
  body?: unknown;
  /** `Authorization: Bearer` value. */
  bearer?: string;
  /** The `sigil_session` cookie value. */
  session?: string;
  csrf?: string;
  userAgent?: string;
  localAddress?: string;
  /** For HTTPS: the CA to verify the server with. */
  ca?: string;
}

/** One request to `baseUrl + path`. */
export function adminHttp(
  baseUrl: string,
  path: string,
  init: AdminHttpInit = {},
): Promise<AdminHttpResponse> {
  const url = new URL(path, baseUrl);
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (init.bearer !== undefined) headers.authorization = `Bearer ${init.bearer}`;
  if (init.session !== undefined) headers.cookie = `sigil_session=${init.session}`;
  if (init.csrf !== undefined) headers['x-csrf-token'] = init.csrf;
  if (init.userAgent !== undefined) headers['user-agent'] = init.userAgent;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: init.method ?? 'GET',
        headers,
        ...(init.localAddress === undefined ? {} : { localAddress: init.localAddress }),
        ...(init.ca === undefined ? {} : { ca: init.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The `sigil_session` value a response sets ('' when it clears it), or undefined. */
export function sessionCookie(res: AdminHttpResponse): string | undefined {
  const line = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('sigil_session='));
  return line === undefined ? undefined : line.slice('sigil_session='.length).split(';')[0];
}

/** Signs in; the cookie value and the CSRF token. */
export async function signIn(
  baseUrl: string,
  username: string,
  password: string,
  init: AdminHttpInit = {},
): Promise<{ session: string; csrf: string; response: AdminHttpResponse }> {
  const response = await adminHttp(baseUrl, '/api/admin/session', {
    ...init,
    method: 'POST',
    body: { username, password },
  });
  if (response.status !== 200)
    throw new Error(`sign-in as ${username}: ${response.status} ${response.text}`);
  return { session: sessionCookie(response)!, csrf: response.json.csrf_token, response };
}
