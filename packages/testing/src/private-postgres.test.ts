import { connect } from 'node:net';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startPrivatePostgres', () => {
  let pg: PrivatePostgres | undefined;
  afterAll(async () => {
    await pg?.close();
  });

  it('runs a server of its own on a free port that stops and starts for real', async () => {
    pg = await startPrivatePostgres();
    expect(pg.port).not.toBe(5432);
    expect(pg.url).toBe(`postgresql://postgres@127.0.0.1:${pg.port}/postgres`);
    expect(await accepts(pg.port)).toBe(true);
    await pg.stop();
    expect(await accepts(pg.port)).toBe(false);
    await pg.start();
    expect(await accepts(pg.port)).toBe(true);
    expect(pg.log()).toMatch(/database system is ready to accept connections/);
  }, 120_000);
});
