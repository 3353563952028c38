/**
 * The value of one sample of the Prometheus text exposition served at `<metricsUrl>/metrics`:
 * the first line of metric `name` carrying every label in `labels`, or 0 when there is none.
 *
 * @example
 * ```ts
 * const failures = await readMetric(service.metricsUrl, 'grpc_tls_handshake_errors_total', { reason: 'unknown_ca' });
 * ```
 */
export async function readMetric(
  metricsUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line !== name && !line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`)))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}
