/**
 * Polls `probe` every 25 ms until it returns a truthy value, and resolves with it. A probe that
 * throws is tried again; after `timeoutMs` the wait fails naming `what` (and the probe's last
 * error, if any).
 *
 * @example
 * ```ts
 * const connector = await waitFor('the connector to be listed', () => controller.listConnectors()[0]);
 * await waitFor('a rotation', async () => (await readMetric(metricsUrl, 'grpc_tls_rotations_total')) >= 1);
 * ```
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}` +
          (lastError === undefined ? '' : `: ${String(lastError)}`),
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
