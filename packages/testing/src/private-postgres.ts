import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, chownSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A PostgreSQL server of a test's own, from {@link startPrivatePostgres}: its own data directory
 * and port, so a test may stop and start it without touching the machine's shared server.
 *
 * @example
 * ```ts
 * const pg: PrivatePostgres = await startPrivatePostgres();
 * await pg.stop();
 * await pg.start();
 * await pg.close();
 * ```
 */
export interface PrivatePostgres {
  /** The port it listens on, on 127.0.0.1 only. */
  readonly port: number;
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` (trust authentication). */
  readonly url: string;
  /** The data directory (removed by {@link PrivatePostgres.close}). */
  readonly dataDir: string;
  /** Stops the server (`pg_ctl stop`, mode `fast` by default; `immediate` is a crash) and waits. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and waits until it accepts connections. */
  start(): Promise<void>;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops it if running and removes its data directory. */
  close(): Promise<void>;
}

/**
 * Options of {@link startPrivatePostgres}.
 *
 * @example
 * ```ts
 * const options: PrivatePostgresOptions = { binDir: '/usr/lib/postgresql/15/bin' };
 * ```
 */
export interface PrivatePostgresOptions {
  /** The directory holding `initdb` and `pg_ctl`. Default: `PG_BIN`, the newest `/usr/lib/postgresql/<n>/bin`, or the PATH. */
  binDir?: string;
}

/**
 * Creates a PostgreSQL cluster in a temporary directory (`initdb`, trust authentication, fsync
 * off) and starts it (`pg_ctl`) on a free port of 127.0.0.1, run as the `postgres` user when
 * the test runs as root (PostgreSQL refuses to run as root). Throws, saying why, when the
 * binaries are missing or refuse to run: a test may then skip with that reason.
 *
 * @example
 * ```ts
 * const pg = await startPrivatePostgres();
 * const store = await createPostgresStore({ connectionString: pg.url });
 * await pg.stop(); // the outage
 * await pg.start();
 * await pg.close();
 * ```
 */
export async function startPrivatePostgres(
  options: PrivatePostgresOptions = {},
): Promise<PrivatePostgres> {
  const binDir = options.binDir ?? findBinDir();
  const asRoot = process.getuid?.() === 0;
  const command = (tool: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args]]
      : [join(binDir, tool), args];
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dataDir, uid, gid);
  }
  const cluster = join(dataDir, 'data');
  const logFile = join(dataDir, 'server.log');
  const port = await freePort();
  let running = false;
  const pgCtl = async (args: string[]): Promise<void> => {
    const [file, argv] = command('pg_ctl', ['-D', cluster, ...args]);
    await run(file, argv, { timeout: 60_000 });
  };
  const start = async (): Promise<void> => {
    await pgCtl([
      '-l',
      logFile,
      '-w',
      '-o',
      `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dataDir} -c fsync=off -c max_connections=50`,
      'start',
    ]);
    running = true;
  };
  try {
    const [file, argv] = command('initdb', [
      '-D',
      cluster,
      '--auth=trust',
      '--username=postgres',
      '--no-sync',
      '--encoding=UTF8',
      '--locale=C',
    ]);
    await run(file, argv, { timeout: 120_000 });
    await start();
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(
      `cannot start a private PostgreSQL with ${binDir} (as ${asRoot ? 'postgres via runuser' : 'this user'}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    dataDir: cluster,
    async stop(mode = 'fast') {
      await pgCtl(['-m', mode, '-w', 'stop']);
      running = false;
    },
    start,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async close() {
      if (running) await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      running = false;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function findBinDir(): string {
  if (process.env.PG_BIN !== undefined && process.env.PG_BIN !== '') return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir;
  throw new Error(
    'no PostgreSQL server binaries (initdb, pg_ctl): install postgresql or set PG_BIN to their directory',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
