import * as grpc from '@grpc/grpc-js';
import { contentV1, controlplaneV1 } from './index';

describe('@sigil/proto', () => {
  it('round-trips a oneof control message through the wire format', () => {
    const message: controlplaneV1.AgentMessage = {
      body: {
        $case: 'heartbeat',
        heartbeat: {
          sequence: 7,
          version: '1.2.3',
          privateIp: '10.0.0.4',
          sentAt: 1_700_000_000_000,
          certificateNotAfter: 1_700_000_360_000,
          bundleVersion: 3,
        },
      },
    };
    const bytes = controlplaneV1.AgentMessage.encode(message).finish();
    const decoded = controlplaneV1.AgentMessage.decode(bytes);
    expect(decoded).toEqual(message);
  });

  it('exposes grpc-js service definitions with full method paths', () => {
    expect(controlplaneV1.EnrollmentServiceService.enroll.path).toBe(
      '/sigil.controlplane.v1.EnrollmentService/Enroll',
    );
    expect(controlplaneV1.ControlPlaneServiceService.connect.requestStream).toBe(true);
    expect(contentV1.ContentServiceService.watchPosts.responseStream).toBe(true);
    const client = new contentV1.ContentServiceClient(
      '127.0.0.1:1',
      grpc.credentials.createInsecure(),
    );
    expect(typeof client.watchPosts).toBe('function');
    client.close();
  });
});
