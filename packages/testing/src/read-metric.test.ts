import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readMetric } from './read-metric';

const EXPOSITION = [
  '# HELP grpc_tls_rotations_total Rotations.',
  '# TYPE grpc_tls_rotations_total counter',
  'grpc_tls_rotations_total{side="server",result="applied"} 2',
  'grpc_tls_rotations_total{side="client",result="applied"} 5',
  'process_open_fds 12',
  '',
].join('\n');

describe('readMetric', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((request, response) =>
      response.end(request.url === '/metrics' ? EXPOSITION : ''),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads the sample whose labels match, from a real HTTP endpoint', async () => {
    await expect(readMetric(url, 'grpc_tls_rotations_total', { side: 'client' })).resolves.toBe(5);
    await expect(readMetric(url, 'process_open_fds')).resolves.toBe(12);
  });

  it('is 0 for a metric or label set that is absent', async () => {
    await expect(readMetric(url, 'grpc_tls_rotations_total', { side: 'edge' })).resolves.toBe(0);
    await expect(readMetric(url, 'no_such_metric')).resolves.toBe(0);
  });
});
