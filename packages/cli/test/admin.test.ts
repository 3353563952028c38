// `sigil admin` against a real controller (in this process, embedded store, loopback ports), with
// agents enrolled by the real enrollment client from tokens the command itself created.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ADMIN_TOKEN,
  closedPort,
  fixedHttpServer,
  silentServer,
  startAdminFixture,
} from './admin-support';
import type { AdminFixture } from './admin-support';
import { tokenFingerprint } from '@sigil/pki';
import { sigil, temporaryDirectory } from './support';

jest.setTimeout(60_000);

describe('sigil admin', () => {
  let fixture: AdminFixture;
  const tmp = temporaryDirectory('cli-admin-files');
  const admin = (args: string[], env: Record<string, string> = fixture.env) =>
    sigil(['admin', ...args], { env });
  const json = async (args: string[]) => {
    const run = await admin([...args, '--json']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(run.stdout) as unknown;
  };

  beforeAll(async () => {
    fixture = await startAdminFixture();
  });
  afterAll(async () => {
    await fixture.close();
    tmp.remove();
  });

  describe('tokens create', () => {
    it('creates a connector token and prints it with its SPIFFE ID and expiry', async () => {
      const run = await admin(['tokens', 'create', '--kind', 'connector', '--id', 'edge-1']);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      const lines = run.stdout.split('\n');
      expect(lines[0]).toBe('Created an enrollment token for connector edge-1');
      expect(lines[1]).toMatch(/^ {2}token {6}sigil_et_\S+$/);
      const token = lines[1]!.trim().split(/\s+/)[1]!;
      expect(lines[2]).toBe(
        `  token id   ${tokenFingerprint(token)} (what tokens ls shows and tokens rm takes)`,
      );
      expect(lines[3]).toBe('  SPIFFE ID  spiffe://cli.sigil/connector/edge-1');
      expect(lines[4]).toMatch(/^ {2}expires {4}\d{4}-\d\d-\d\dT\S+Z \(in 1[45]m\)$/);
      await fixture.enroll('connector', 'edge-1', token);
    });

    it('prints the API answer with --json, and sends --connector-id and --ttl', async () => {
      const created = (await json([
        'tokens',
        'create',
        '--kind',
        'tunneler',
        '--id',
        'laptop-1',
        '--connector-id',
        'edge-1',
        '--ttl',
        '5m',
      ])) as Record<string, string>;
      expect(created).toEqual({
        token: expect.stringMatching(/^sigil_et_/),
        expires_at: expect.any(String),
        kind: 'tunneler',
        id: 'laptop-1',
        connector_id: 'edge-1',
        spiffe_id: 'spiffe://cli.sigil/tunneler/laptop-1',
      });
      const left = Date.parse(created.expires_at!) - Date.now();
      expect(left).toBeGreaterThan(4 * 60_000);
      expect(left).toBeLessThanOrEqual(5 * 60_000);
      await fixture.enroll('tunneler', 'laptop-1', created.token!);
    });

    it("shows the controller's 400 with its reason and field, exit 2", async () => {
      const run = await admin(['tokens', 'create', '--kind', 'printer', '--id', 'p-1']);
      expect(run).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'error: POST /api/admin/tokens: kind must be "connector" or "tunneler" (field kind) (ERR_TOKEN_REQUEST_INVALID)\n',
      });
      const asJson = await admin([
        'tokens',
        'create',
        '--kind',
        'printer',
        '--id',
        'p-1',
        '--json',
      ]);
      expect(asJson.code).toBe(2);
      expect(JSON.parse(asJson.stdout)).toEqual({
        error: {
          code: 'ERR_TOKEN_REQUEST_INVALID',
          message: 'POST /api/admin/tokens: kind must be "connector" or "tunneler" (field kind)',
        },
      });
    });

    it('passes a TTL the controller refuses to the controller, which names ttl_seconds', async () => {
      const run = await admin([
        'tokens',
        'create',
        '--kind',
        'connector',
        '--id',
        'e-2',
        '--ttl',
        '2d',
      ]);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/\(field ttl_seconds\) \(ERR_TOKEN_REQUEST_INVALID\)\n$/);
    });

    it('refuses a malformed --ttl and a missing --kind before any request, exit 64', async () => {
      const ttl = await admin([
        'tokens',
        'create',
        '--kind',
        'connector',
        '--id',
        'e',
        '--ttl',
        'soon',
      ]);
      expect(ttl.code).toBe(64);
      expect(ttl.stderr).toContain("option '--ttl <duration>' argument 'soon' is invalid.");
      const kind = await admin(['tokens', 'create', '--id', 'e']);
      expect(kind.code).toBe(64);
      expect(kind.stderr).toContain("required option '--kind <kind>' not specified");
    });
  });

  describe('connectors ls and tunnelers ls', () => {
    it('prints aligned tables of the enrolled agents', async () => {
      const connectors = await admin(['connectors', 'ls']);
      expect(connectors.code).toBe(0);
      const [header, row, ...rest] = connectors.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^ID {6}STATUS {2,3}CONNECTED {2}LAST SEEN +VERSION {5}PRIVATE IP$/);
      expect(row).toMatch(
        /^edge-1 {2}(ONLINE|OFFLINE) {2,3}no {9}\S.* {2}9\.9\.9-test {2}10\.1\.2\.3$/,
      );
      expect(rest).toEqual([]);
      // Every column starts where its header does.
      expect(row!.indexOf('9.9.9-test')).toBe(header!.indexOf('VERSION'));

      const tunnelers = await admin(['tunnelers', 'ls']);
      expect(tunnelers.code).toBe(0);
      const lines = tunnelers.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^ID {8}CONNECTOR {2}STATUS {2,3}LAST SEEN +VERSION$/);
      expect(lines[1]).toMatch(/^laptop-1 {2}edge-1 {5}(ONLINE|OFFLINE) {2,3}.* 9\.9\.9-test$/);
    });

    it("prints the API's JSON with --json", async () => {
      expect(await json(['connectors', 'ls'])).toEqual([
        {
          id: 'edge-1',
          private_ip: '10.1.2.3',
          last_seen: expect.anything(),
          version: '9.9.9-test',
          status: expect.stringMatching(/^(ONLINE|OFFLINE)$/),
          connected: false,
          clock_skew_ms: expect.any(Number),
          upgrade_required: false,
          certificate_expires_at: expect.any(String),
        },
      ]);
      expect(await json(['tunnelers', 'ls'])).toEqual([
        expect.objectContaining({ id: 'laptop-1', connector_id: 'edge-1', version: '9.9.9-test' }),
      ]);
    });
  });

  describe('tokens ls and tokens rm', () => {
    let spare: string;
    beforeAll(async () => {
      const run = await admin([
        'tokens',
        'create',
        '--kind',
        'connector',
        '--id',
        'spare-1',
        '--json',
      ]);
      spare = (JSON.parse(run.stdout) as { token: string }).token;
    });

    it('lists the pending tokens by their token id, never the secret', async () => {
      const listed = (await json(['tokens', 'ls'])) as Record<string, string>[];
      // edge-1's and laptop-1's tokens were redeemed: only the spare one is pending.
      expect(listed).toEqual([
        {
          token_id: tokenFingerprint(spare),
          kind: 'connector',
          id: 'spare-1',
          created_at: expect.any(String),
          expires_at: expect.any(String),
        },
      ]);
      const table = await admin(['tokens', 'ls']);
      expect(table.code).toBe(0);
      expect(table.stdout).not.toContain(spare);
      const [header, row] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^TOKEN ID {6}KIND {7}AGENT {4}CONNECTOR {2}CREATED +EXPIRES$/);
      expect(row).toMatch(
        new RegExp(
          `^${tokenFingerprint(spare)}  connector  spare-1  -          \\S+Z  \\S+Z \\(in 1[45]m\\)$`,
        ),
      );
    });

    it('cancels a token so that it no longer enrolls, and names an unknown one, exit 2', async () => {
      const id = tokenFingerprint(spare);
      const run = await admin(['tokens', 'rm', id]);
      expect(run).toEqual({
        code: 0,
        stdout: `Cancelled enrollment token ${id} for connector spare-1: it can no longer enroll anything\n`,
        stderr: '',
      });
      expect(await json(['tokens', 'ls'])).toEqual([]);
      expect((await admin(['tokens', 'ls'])).stdout).toBe('no pending enrollment tokens\n');
      await expect(fixture.enroll('connector', 'spare-1', spare)).rejects.toThrow();

      const again = await admin(['tokens', 'rm', id]);
      expect(again).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: DELETE /api/admin/tokens/${id}: no unused enrollment token has id ${id} (ERR_NOT_FOUND)\n`,
      });
    });
  });

  describe('connectors revoke, tunnelers revoke and revocations ls', () => {
    it('revokes a tunneler: REVOKED in tunnelers ls, listed with its reason, audited', async () => {
      const run = await admin(['tunnelers', 'revoke', 'laptop-1', '--reason', 'laptop stolen']);
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(
        /^Revoked tunneler laptop-1 \(spiffe:\/\/cli\.sigil\/tunneler\/laptop-1\) at \S+Z: laptop stolen\n$/,
      );

      // Revoking again changes nothing: the first revocation is the answer.
      const again = await admin(['tunnelers', 'revoke', 'laptop-1', '--reason', 'second thoughts']);
      expect(again.code).toBe(0);
      expect(again.stdout).toBe(run.stdout);

      const [row] = (await admin(['tunnelers', 'ls'])).stdout.trimEnd().split('\n').slice(1);
      expect(row).toMatch(/^laptop-1 {2}edge-1 {5}REVOKED {2}/);
      expect(await json(['tunnelers', 'ls'])).toEqual([
        expect.objectContaining({ id: 'laptop-1', status: 'REVOKED' }),
      ]);

      const revocations = (await json(['revocations', 'ls'])) as Record<string, unknown>[];
      expect(revocations).toEqual([
        expect.objectContaining({
          kind: 'tunneler',
          agent_id: 'laptop-1',
          spiffe_id: 'spiffe://cli.sigil/tunneler/laptop-1',
          reason: 'laptop stolen',
          active: true,
        }),
      ]);
      const table = (await admin(['revocations', 'ls'])).stdout.trimEnd().split('\n');
      expect(table[0]).toMatch(/^KIND {6}AGENT {5}REVOKED AT +BY +ACTIVE +REASON$/);
      expect(table[1]).toMatch(/^tunneler {2}laptop-1 {2}\S+Z +\S+ +yes +laptop stolen$/);

      const audited = (await json(['audit', '--action', 'admin.agent_revoked'])) as {
        subject: string;
      }[];
      expect(audited.map((r) => r.subject)).toEqual(['spiffe://cli.sigil/tunneler/laptop-1']);
    });

    it('revokes a connector and prints the API answer with --json', async () => {
      const revoked = await json(['connectors', 'revoke', 'edge-1', '--reason', 'decommissioned']);
      expect(revoked).toMatchObject({
        kind: 'connector',
        agent_id: 'edge-1',
        reason: 'decommissioned',
        revoked_at: expect.any(String),
      });
      expect(await json(['connectors', 'ls'])).toEqual([
        expect.objectContaining({ id: 'edge-1', status: 'REVOKED' }),
      ]);
      // Newest first: --limit 1 is this one, not the tunneler's.
      expect(await json(['revocations', 'ls', '--limit', '1'])).toEqual([
        expect.objectContaining({ kind: 'connector', agent_id: 'edge-1' }),
      ]);
    });

    it('names an unknown agent (exit 2) and requires --reason (exit 64)', async () => {
      const unknown = await admin(['connectors', 'revoke', 'ghost-9', '--reason', 'x']);
      expect(unknown).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'error: POST /api/admin/connectors/ghost-9/revoke: no connector "ghost-9" is enrolled (ERR_NOT_FOUND)\n',
      });
      const noReason = await admin(['tunnelers', 'revoke', 'laptop-1']);
      expect(noReason.code).toBe(64);
      expect(noReason.stderr).toContain("required option '--reason <text>' not specified");
    });
  });

  describe('audit', () => {
    it('lists audit records newest first, filtered by --action and bounded by --limit', async () => {
      const records = (await json([
        'audit',
        '--action',
        'admin.token_created',
        '--limit',
        '1',
      ])) as {
        id: number;
        action: string;
      }[];
      expect(records).toHaveLength(1);
      expect(records[0]!.action).toBe('admin.token_created');
      const all = (await json(['audit'])) as { id: number }[];
      expect(all.length).toBeGreaterThan(2);
      expect(all.map((r) => r.id)).toEqual([...all.map((r) => r.id)].sort((a, b) => b - a));
      const before = (await json(['audit', '--before', String(all[0]!.id)])) as { id: number }[];
      expect(before[0]!.id).toBeLessThan(all[0]!.id);

      const table = await admin(['audit', '--action', 'enrollment.succeeded']);
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^ID +AT +ACTION +OUTCOME +ACTOR +SUBJECT +DETAILS$/);
      expect(rows.join('\n')).toContain('spiffe://cli.sigil/connector/edge-1');
      expect(rows.every((r) => r.includes('enrollment.succeeded'))).toBe(true);
    });

    it('shows a bad query parameter as the API refused it, and a bad --limit as usage', async () => {
      const run = await admin(['audit', '--action', 'NOT AN ACTION']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^error: GET \/api\/admin\/audit\?action=NOT\+AN\+ACTION: .*\(field action\) \(ERR_REQUEST_INVALID\)\n$/,
      );
      expect((await admin(['audit', '--limit', 'zero'])).code).toBe(64);
    });
  });

  describe('configuration and failures', () => {
    it('names SIGIL_ADMIN_TOKEN when the controller answers 401, exit 2', async () => {
      const run = await admin(['connectors', 'ls'], {
        ...fixture.env,
        SIGIL_ADMIN_TOKEN: 'wrong-token-000000000000',
      });
      expect(run).toEqual({
        code: 2,
        stdout: '',
        stderr:
          "error: GET /api/admin/connectors: the admin API refused the admin token from SIGIL_ADMIN_TOKEN (invalid admin token); set SIGIL_ADMIN_TOKEN or SIGIL_ADMIN_TOKEN_FILE to the controller's admin token (ERR_ADMIN_UNAUTHORIZED)\n",
      });
    });

    it('asks for SIGIL_ADMIN_TOKEN when none is set, without a request', async () => {
      const run = await admin(['connectors', 'ls'], {
        SIGIL_ADMIN_URL: fixture.env.SIGIL_ADMIN_URL!,
      });
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(
        /^error: no admin token: set SIGIL_ADMIN_TOKEN \(or SIGIL_ADMIN_TOKEN_FILE .*\(ERR_CONFIG_MISSING\)\n$/,
      );
    });

    it('reads the token from SIGIL_ADMIN_TOKEN_FILE and refuses two token sources at one level', async () => {
      const file = join(tmp.dir, 'admin-token');
      writeFileSync(file, `${ADMIN_TOKEN}\n`, { mode: 0o600 });
      const url = fixture.env.SIGIL_ADMIN_URL!;
      const run = await admin(['connectors', 'ls', '--json'], {
        SIGIL_ADMIN_URL: url,
        SIGIL_ADMIN_TOKEN_FILE: file,
      });
      expect(run.code).toBe(0);
      const both = await admin(['connectors', 'ls'], {
        ...fixture.env,
        SIGIL_ADMIN_TOKEN_FILE: file,
      });
      expect(both.code).toBe(2);
      expect(both.stderr).toBe(
        'error: SIGIL_ADMIN_TOKEN and SIGIL_ADMIN_TOKEN_FILE are both set; set one of them (ERR_CONFIG_INVALID)\n',
      );
      // A flag beats a variable: --admin-token-file wins over SIGIL_ADMIN_TOKEN.
      const flag = await admin(['connectors', 'ls', '--admin-token-file', file], {
        SIGIL_ADMIN_URL: url,
        SIGIL_ADMIN_TOKEN: 'stale-token',
      });
      expect(flag.code).toBe(0);
      const missing = await admin(['connectors', 'ls'], {
        SIGIL_ADMIN_URL: url,
        SIGIL_ADMIN_TOKEN_FILE: join(tmp.dir, 'nope'),
      });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('SIGIL_ADMIN_TOKEN_FILE');
      expect(missing.stderr).toContain('(ERR_FILE_UNREADABLE)');
    });

    it('warns on standard error when the token is a flag value, and still works', async () => {
      const run = await admin(
        [
          'connectors',
          'ls',
          '--json',
          '--admin-token',
          ADMIN_TOKEN,
          '--admin-url',
          fixture.env.SIGIL_ADMIN_URL!,
        ],
        {},
      );
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toHaveLength(1);
      expect(run.stderr).toBe(
        'warning: --admin-token is visible to other users (ps) and in shell history; prefer SIGIL_ADMIN_TOKEN or SIGIL_ADMIN_TOKEN_FILE\n',
      );
    });

    it('names SIGIL_ADMIN_URL when nothing listens there, exit 3', async () => {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const run = await admin(['tunnelers', 'ls'], {
        SIGIL_ADMIN_URL: url,
        SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(run).toEqual({
        code: 3,
        stdout: '',
        stderr: `error: cannot reach the admin API at ${url} (SIGIL_ADMIN_URL): connection refused (is the controller running?) (ERR_CONTROLLER_UNREACHABLE)\n`,
      });
      const flag = await admin(['tunnelers', 'ls', '--admin-url', url, '--json'], {
        SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(flag.code).toBe(3);
      expect(JSON.parse(flag.stdout).error.message).toContain(`at ${url} (--admin-url)`);
    });

    it('says the default URL is in use and how to change it', async () => {
      // Nothing of this test listens on 127.0.0.1:8080 unless a developer runs a controller.
      const run = await admin(['audit', '--timeout', '2s'], { SIGIL_ADMIN_TOKEN: ADMIN_TOKEN });
      if (run.code === 3)
        expect(run.stderr).toContain(
          'cannot reach the admin API at http://127.0.0.1:8080 (the default; set SIGIL_ADMIN_URL or --admin-url)',
        );
      else expect(run.code).toBe(2);
    });

    it('gives up after --timeout on an admin API that never answers, exit 3', async () => {
      const silent = await silentServer();
      try {
        const run = await admin(['connectors', 'ls', '--timeout', '300ms'], {
          SIGIL_ADMIN_URL: silent.url,
          SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
        });
        expect(run.code).toBe(3);
        expect(run.stderr).toBe(
          `error: cannot reach the admin API at ${silent.url} (SIGIL_ADMIN_URL): no answer within 300 ms (SIGIL_ADMIN_TIMEOUT) (ERR_CONTROLLER_UNREACHABLE)\n`,
        );
      } finally {
        await silent.close();
      }
    });

    it('recognises an answer that is not the admin API, and a server error, exit 3', async () => {
      const html = await fixedHttpServer(200, 'text/html', '<html>router login</html>');
      const failing = await fixedHttpServer(500, 'application/json', '{"error":"internal error"}');
      try {
        const wrong = await admin(['connectors', 'ls'], {
          SIGIL_ADMIN_URL: html.url,
          SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
        });
        expect(wrong.code).toBe(3);
        expect(wrong.stderr).toBe(
          `error: GET /api/admin/connectors: HTTP 200 with a text/html body, not the admin API's JSON: is SIGIL_ADMIN_URL (${html.url}) the controller's ADMIN_LISTEN_ADDR? (ERR_ADMIN_API_FAILED)\n`,
        );
        const broken = await admin(['connectors', 'ls'], {
          SIGIL_ADMIN_URL: failing.url,
          SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
        });
        expect(broken.code).toBe(3);
        expect(broken.stderr).toBe(
          `error: GET /api/admin/connectors: the admin API at ${failing.url} answered HTTP 500: internal error (ERR_ADMIN_API_FAILED)\n`,
        );
      } finally {
        await html.close();
        await failing.close();
      }
    });

    it('refuses a SIGIL_ADMIN_URL that is not http(s), naming it', async () => {
      const run = await admin(['connectors', 'ls'], {
        SIGIL_ADMIN_URL: 'ftp://127.0.0.1:8080',
        SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(run).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'error: SIGIL_ADMIN_URL="ftp://127.0.0.1:8080": must be an http:// or https:// URL (ERR_CONFIG_INVALID)\n',
      });
      // Credentials in the URL are refused without being printed.
      const secret = await admin(['connectors', 'ls'], {
        SIGIL_ADMIN_URL: 'http://admin:hunter2@127.0.0.1:8080/',
        SIGIL_ADMIN_TOKEN: ADMIN_TOKEN,
      });
      expect(secret).toEqual({
        code: 2,
        stdout: '',
        stderr:
          'error: SIGIL_ADMIN_URL="http://127.0.0.1:8080/": must not carry credentials, a query or a fragment (ERR_CONFIG_INVALID)\n',
      });
    });

    it('refuses a bad SIGIL_ADMIN_TIMEOUT and an empty token file, naming them', async () => {
      const timeout = await admin(['audit'], { ...fixture.env, SIGIL_ADMIN_TIMEOUT: '0s' });
      expect(timeout.code).toBe(2);
      expect(timeout.stderr).toMatch(/^error: SIGIL_ADMIN_TIMEOUT="0s".*\(ERR_CONFIG_INVALID\)\n$/);
      const empty = join(tmp.dir, 'empty-token');
      writeFileSync(empty, '\n', { mode: 0o600 });
      const run = await admin(['audit'], {
        SIGIL_ADMIN_URL: fixture.env.SIGIL_ADMIN_URL!,
        SIGIL_ADMIN_TOKEN_FILE: empty,
      });
      expect(run).toEqual({
        code: 2,
        stdout: '',
        stderr: `error: SIGIL_ADMIN_TOKEN_FILE: ${empty} is empty (ERR_CONFIG_INVALID)\n`,
      });
    });
  });
});
