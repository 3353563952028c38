import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('resolves with the first truthy value, retrying a probe that throws', async () => {
    let calls = 0;
    const value = await waitFor('the third call', () => {
      calls += 1;
      if (calls === 1) throw new Error('not yet');
      return calls === 3 ? 'ready' : undefined;
    });
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('fails after the timeout naming what it waited for and the last error', async () => {
    await expect(
      waitFor(
        'the impossible',
        () => {
          throw new Error('still down');
        },
        50,
      ),
    ).rejects.toThrow('timed out after 50 ms waiting for the impossible: Error: still down');
  });
});
