// A fleet of connectors with a long reconnect backoff (10 s doubling to 30 s, full jitter: the
// delays a fleet reaches after a few failed attempts) losing its controller for 25 s: once the
// controller answers again they come back within seconds, spread over a couple of seconds rather
// than all in the same instant. Prints the reconnection time and the peak stream opens per second
// (a regression guard: "5 to 29 s at the backoff cap" must not come back).
import { waitFor } from '@sigil/testing';
import {
  startControlPlane,
  type ControlPlaneFixture,
  type RunningConnector,
} from './support/control-plane';

jest.setTimeout(180_000);

const FLEET = 20;
const OUTAGE_MS = 25_000;

describe('connectors after a controller restart', () => {
  let fx: ControlPlaneFixture;
  afterAll(async () => {
    await fx?.cleanup();
  });

  it('reconnect soon after the controller answers again, without a storm', async () => {
    fx = await startControlPlane();
    const fleet: RunningConnector[] = [];
    for (let i = 0; i < FLEET; i += 1) {
      const env = await fx.enrollEnv('connector', `fleet-${i}`, {
        env: {
          HEARTBEAT_INTERVAL: '2s',
          RECONNECT_BACKOFF_INITIAL: '10s',
          RECONNECT_BACKOFF_MAX: '30s',
        },
      });
      fleet.push(await fx.startConnector(env, true));
    }
    await waitFor('the fleet to connect', () => fleet.every((c) => c.part.control.up), 60_000);

    await fx.stopController();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await fx.startControllerAgain();
    const back = Date.now();
    await waitFor('the fleet to reconnect', () => fleet.every((c) => c.part.control.up), 60_000);
    const reconnectMs = Date.now() - back;

    const opens = fx.lines
      .map((l) => JSON.parse(l) as { event?: string; time: number })
      .filter((r) => r.event === 'controlplane.stream_opened')
      .map((r) => r.time);
    const perSecond = new Map<number, number>();
    for (const at of opens) {
      const second = Math.floor((at - back) / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    const peak = Math.max(...perSecond.values());
    console.log(
      `${FLEET} connectors back ${reconnectMs} ms after the controller returned (outage ${OUTAGE_MS} ms); peak ${peak} stream opens/s; per second: ${JSON.stringify([...perSecond.entries()].sort((a, b) => a[0] - b[0]))}`,
    );
    expect(opens).toHaveLength(FLEET);
    // At the backoff cap connectors would be away for up to 30 s.
    expect(reconnectMs).toBeLessThan(6_000);
    // Spread: not the whole fleet in one second.
    expect(peak).toBeLessThan(FLEET);
  });
});
