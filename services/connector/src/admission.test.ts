import * as grpc from '@grpc/grpc-js';
import { admitTunneler } from './admission';

const base = {
  trustDomain: 'sigil.local',
  connectorId: 'edge-1',
  approved: new Set(['laptop-1']),
  revoked: new Set<string>(),
};

describe('admitTunneler', () => {
  it('admits an approved tunneler by the id in its SPIFFE ID', () => {
    expect(
      admitTunneler({ ...base, peerSpiffeId: 'spiffe://sigil.local/tunneler/laptop-1' }),
    ).toEqual({ admitted: true, tunnelerId: 'laptop-1' });
  });

  it('refuses a tunneler the controller did not approve for this connector', () => {
    expect(
      admitTunneler({ ...base, peerSpiffeId: 'spiffe://sigil.local/tunneler/laptop-2' }),
    ).toEqual({
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'not_approved',
      message: 'tunneler laptop-2 is not approved for connector edge-1',
    });
  });

  it.each([
    ['a connector', 'spiffe://sigil.local/connector/laptop-1'],
    ['another trust domain', 'spiffe://other.example/tunneler/laptop-1'],
    ['a deeper path', 'spiffe://sigil.local/tunneler/laptop-1/extra'],
    ['no SPIFFE ID', undefined],
  ])('refuses %s', (_what, peerSpiffeId) => {
    expect(admitTunneler({ ...base, peerSpiffeId })).toMatchObject({
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'not_a_tunneler',
    });
  });

  it('asks to retry while the approved list is unknown, and denies with an empty one', () => {
    const peerSpiffeId = 'spiffe://sigil.local/tunneler/laptop-1';
    expect(admitTunneler({ ...base, peerSpiffeId, approved: undefined })).toMatchObject({
      admitted: false,
      code: grpc.status.UNAVAILABLE,
      reason: 'approvals_unknown',
    });
    expect(admitTunneler({ ...base, peerSpiffeId, approved: new Set() })).toMatchObject({
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
    });
  });

  it('refuses a revoked tunneler with its own reason, approved or not, before approvals arrive', () => {
    const peerSpiffeId = 'spiffe://sigil.local/tunneler/laptop-1';
    const refusal = {
      admitted: false,
      code: grpc.status.PERMISSION_DENIED,
      reason: 'revoked',
      tunnelerId: 'laptop-1',
      message:
        'tunneler laptop-1 is revoked: the controller put it on the deny list of connector edge-1',
    };
    const revoked = new Set(['laptop-1']);
    expect(admitTunneler({ ...base, peerSpiffeId, revoked })).toEqual(refusal);
    expect(admitTunneler({ ...base, peerSpiffeId, revoked, approved: undefined })).toEqual(refusal);
  });
});
