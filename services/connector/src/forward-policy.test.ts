import { checkResolved, compilePolicy, decideForward, type DialTarget } from './forward-policy';

const { policy, skipped } = compilePolicy({
  resources: [
    { name: 'pg-main', address: '10.0.0.5:5432', tunnelerIds: ['laptop-1'] },
    { name: 'db-name', address: 'db.internal:5432', tunnelerIds: ['laptop-1'] },
    { name: 'lab', address: '10.0.0.0/24:8000-8099', tunnelerIds: ['laptop-1'] },
    { name: 'broken', address: '10.0.0.0/99:1', tunnelerIds: ['laptop-1'] },
  ],
});

const allowed = (decision: ReturnType<typeof decideForward>): DialTarget => {
  if (!decision.allowed) throw new Error(decision.message);
  return decision.value;
};

describe('compilePolicy', () => {
  it('leaves out a resource whose address does not parse, saying why', () => {
    expect([...policy.keys()]).toEqual(['pg-main', 'db-name', 'lab']);
    expect(skipped).toEqual([
      { name: 'broken', problem: expect.stringContaining('prefix length 99') },
    ]);
  });
});

describe('decideForward', () => {
  it('refuses an unknown resource and a tunneler without a grant, distinctly', () => {
    expect(decideForward(policy, 'laptop-1', 'nope', '')).toMatchObject({
      allowed: false,
      reason: 'unknown_resource',
    });
    expect(decideForward(policy, 'laptop-2', 'pg-main', '')).toMatchObject({
      allowed: false,
      reason: 'no_grant',
      message: 'tunneler laptop-2 has no grant for resource pg-main',
    });
    expect(decideForward(policy, 'laptop-2', 'broken', '')).toMatchObject({
      reason: 'unknown_resource',
    });
  });

  it('dials a host:port resource at its own address only', () => {
    expect(allowed(decideForward(policy, 'laptop-1', 'pg-main', ''))).toMatchObject({
      host: '10.0.0.5',
      port: 5432,
    });
    expect(allowed(decideForward(policy, 'laptop-1', 'pg-main', '10.0.0.5:5432'))).toMatchObject({
      port: 5432,
    });
    expect(decideForward(policy, 'laptop-1', 'pg-main', '10.0.0.6:5432')).toMatchObject({
      reason: 'target_not_allowed',
    });
    expect(decideForward(policy, 'laptop-1', 'pg-main', '10.0.0.5:22')).toMatchObject({
      reason: 'target_not_allowed',
    });
  });

  it('needs a target inside a network resource, on a port of its range', () => {
    expect(allowed(decideForward(policy, 'laptop-1', 'lab', '10.0.0.7:8080'))).toMatchObject({
      host: '10.0.0.7',
      port: 8080,
    });
    expect(decideForward(policy, 'laptop-1', 'lab', '')).toMatchObject({
      reason: 'target_not_allowed',
    });
    expect(decideForward(policy, 'laptop-1', 'lab', '10.0.1.7:8080')).toMatchObject({
      reason: 'target_not_allowed',
    });
    expect(decideForward(policy, 'laptop-1', 'lab', '10.0.0.7:8100')).toMatchObject({
      reason: 'target_not_allowed',
      message: 'port 8100 is outside resource lab (10.0.0.0/24:8000-8099)',
    });
    // A name passes this step; what it resolves to is checked next.
    expect(allowed(decideForward(policy, 'laptop-1', 'lab', 'app.internal:8080'))).toMatchObject({
      host: 'app.internal',
    });
  });
});

describe('checkResolved', () => {
  const lab = allowed(decideForward(policy, 'laptop-1', 'lab', 'app.internal:8080'));

  it('dials the first address when every address is inside the network', () => {
    expect(checkResolved(lab, ['10.0.0.9', '10.0.0.10'])).toEqual({
      allowed: true,
      value: '10.0.0.9',
    });
  });

  it('refuses a name that resolves elsewhere, even partly', () => {
    expect(checkResolved(lab, ['10.0.0.9', '127.0.0.1'])).toMatchObject({
      allowed: false,
      reason: 'target_not_allowed',
      message: 'app.internal resolves to 127.0.0.1, outside resource lab (10.0.0.0/24:8000-8099)',
    });
    expect(checkResolved(lab, [])).toMatchObject({ reason: 'resource_unreachable' });
  });

  it('takes what a host resource name resolves to (the name is the resource)', () => {
    const named = allowed(decideForward(policy, 'laptop-1', 'db-name', ''));
    expect(checkResolved(named, ['192.0.2.4'])).toEqual({ allowed: true, value: '192.0.2.4' });
  });
});
