import { isSigilError } from '@sigil/errors';
import type { GrantRecord, ResourceRecord, TunnelerLabels } from '../store/policy-store';
import {
  connectorPolicy,
  validateGrantRequest,
  validateLabels,
  validateResourceRequest,
} from './resources';

const fieldOf = (work: () => unknown): unknown => {
  try {
    work();
  } catch (err) {
    return isSigilError(err) ? err.details.field : err;
  }
  return undefined;
};

describe('resource and grant validation', () => {
  it('accepts a well-formed resource and names the field at fault otherwise', () => {
    expect(
      validateResourceRequest({
        name: 'pg-main',
        address: '10.0.0.0/24:5432-5433',
        connector_id: 'edge-1',
      }),
    ).toEqual({
      name: 'pg-main',
      address: '10.0.0.0/24:5432-5433',
      connectorId: 'edge-1',
    });
    expect(
      fieldOf(() => validateResourceRequest({ name: '-x', address: 'a:1', connector_id: 'e' })),
    ).toBe('name');
    expect(
      fieldOf(() => validateResourceRequest({ name: 'x', address: 'a', connector_id: 'e' })),
    ).toBe('address');
    expect(
      fieldOf(() => validateResourceRequest({ name: 'x', address: 'a:1', connector_id: '../e' })),
    ).toBe('connector_id');
  });

  it('takes exactly one of tunneler_id and label', () => {
    expect(validateGrantRequest({ resource: 'pg', label: 'team=db' })).toEqual({
      resource: 'pg',
      label: 'team=db',
    });
    expect(validateGrantRequest({ resource: 'pg', tunneler_id: 't-1' })).toEqual({
      resource: 'pg',
      tunnelerId: 't-1',
    });
    expect(fieldOf(() => validateGrantRequest({ resource: 'pg' }))).toBe('tunneler_id');
    expect(
      fieldOf(() => validateGrantRequest({ resource: 'pg', tunneler_id: 't', label: 'l' })),
    ).toBe('tunneler_id');
    expect(fieldOf(() => validateGrantRequest({ resource: 'pg', label: '' }))).toBe('label');
  });

  it('takes labels on tunneler tokens only, at most 16, sorted without duplicates', () => {
    expect(validateLabels(undefined, 'connector')).toEqual([]);
    expect(validateLabels(['b', 'a', 'b'], 'tunneler')).toEqual(['a', 'b']);
    expect(fieldOf(() => validateLabels(['a'], 'connector'))).toBe('labels');
    expect(
      fieldOf(() =>
        validateLabels(
          Array.from({ length: 17 }, (_, i) => `l${i}`),
          'tunneler',
        ),
      ),
    ).toBe('labels');
    expect(fieldOf(() => validateLabels(['ok', 'not ok'], 'tunneler'))).toBe('labels');
  });
});

describe('connectorPolicy', () => {
  const resource = (name: string, connectorId: string): ResourceRecord => ({
    name,
    address: '10.0.0.5:5432',
    connectorId,
    createdAt: 0,
  });
  const grant = (
    id: string,
    resourceName: string,
    who: { tunnelerId?: string; label?: string },
  ): GrantRecord => ({
    id,
    resource: resourceName,
    tunnelerId: who.tunnelerId ?? null,
    label: who.label ?? null,
    createdAt: 0,
  });
  const tunnelers: TunnelerLabels[] = [
    { id: 'a', connectorId: 'edge-1', labels: ['team=db'] },
    { id: 'b', connectorId: 'edge-2', labels: ['team=db'] },
    { id: 'c', connectorId: 'edge-1', labels: [] },
  ];

  it("holds only the connector's resources, each with the tunnelers granted by id or by a label of this connector's tunnelers", () => {
    const policy = connectorPolicy(
      'edge-1',
      [resource('z-db', 'edge-1'), resource('a-db', 'edge-1'), resource('other', 'edge-2')],
      [
        grant('1', 'z-db', { label: 'team=db' }),
        grant('2', 'z-db', { tunnelerId: 'c' }),
        grant('3', 'other', { tunnelerId: 'a' }),
      ],
      tunnelers,
    );
    expect(policy).toEqual({
      resources: [
        { name: 'a-db', address: '10.0.0.5:5432', tunnelerIds: [] },
        { name: 'z-db', address: '10.0.0.5:5432', tunnelerIds: ['a', 'c'] },
      ],
    });
  });
});
