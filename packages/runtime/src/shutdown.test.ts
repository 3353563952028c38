import { PassThrough } from 'node:stream';
import { createLogger } from './logger';
import { installShutdownHandlers } from './shutdown';

function setup(shutdown: (signal: NodeJS.Signals) => Promise<void>, timeoutMs = 1000) {
  const stream = new PassThrough();
  const events: string[] = [];
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
      events.push((JSON.parse(line) as { event: string }).event);
  });
  const exits: number[] = [];
  const calls: NodeJS.Signals[] = [];
  const uninstall = installShutdownHandlers({
    logger: createLogger({ name: 'test', destination: stream }),
    timeoutMs,
    exit: (code) => exits.push(code),
    shutdown: (signal) => {
      calls.push(signal);
      return shutdown(signal);
    },
  });
  return { events, exits, calls, uninstall };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('installShutdownHandlers', () => {
  afterEach(() => jest.useRealTimers());

  it('drains once on SIGTERM and exits 0 when the drain completes', async () => {
    let release!: () => void;
    const { exits, calls, events, uninstall } = setup(
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    process.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(calls).toEqual(['SIGTERM']);
    expect(exits).toEqual([]);
    release();
    await flush();
    expect(exits).toEqual([0]);
    expect(events).toEqual(['shutdown.started', 'shutdown.completed']);
    uninstall();
  });

  it('forces exit 1 when the drain outlives the timeout', async () => {
    jest.useFakeTimers();
    const { exits, events, uninstall } = setup(() => new Promise<void>(() => undefined), 5000);
    process.emit('SIGINT', 'SIGINT');
    jest.advanceTimersByTime(4999);
    expect(exits).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(exits).toEqual([1]);
    expect(events).toEqual(['shutdown.started', 'shutdown.timeout']);
    uninstall();
  });

  it('exits 1 when the drain fails', async () => {
    const { exits, events, uninstall } = setup(() => Promise.reject(new Error('close failed')));
    process.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(exits).toEqual([1]);
    expect(events).toEqual(['shutdown.started', 'shutdown.failed']);
    uninstall();
  });

  it('does not drain twice: a second signal forces exit 1', async () => {
    const { exits, calls, uninstall } = setup(() => new Promise<void>(() => undefined));
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGTERM', 'SIGTERM');
    await flush();
    expect(calls).toEqual(['SIGTERM']);
    expect(exits).toEqual([1]);
    uninstall();
  });

  it('removes its handlers when uninstalled', () => {
    const before = process.listenerCount('SIGTERM');
    const { uninstall } = setup(() => Promise.resolve());
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    uninstall();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
