import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilError } from '@sigil/errors';
import {
  authorizationPolicyFromEnv,
  evaluatePolicy,
  loadAuthorizationPolicy,
} from './authorization-policy';
import type {
  AuthorizationPolicy,
  AuthorizationPolicyDocument,
  AuthorizationRuleDocument,
} from './authorization-policy';

const IDENTITY_GET = '/sigil.identity.v1.IdentityService/GetUser';
const USER_SVC = 'spiffe://example.org/svc/user-service';

function policyOf(document: AuthorizationPolicyDocument): AuthorizationPolicy {
  return loadAuthorizationPolicy(document, { source: 'test policy' });
}

function thrown(fn: () => unknown): SigilError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SigilError);
    return err as SigilError;
  }
  throw new Error('expected a SigilError');
}

describe('evaluatePolicy', () => {
  const policy = policyOf({
    rules: [
      {
        name: 'user-service',
        methods: ['sigil.identity.v1.IdentityService/*'],
        callers: [USER_SVC],
      },
      {
        name: 'ops-tools',
        methods: ['/sigil.identity.v1.IdentityService/ListUsers'],
        callers: ['spiffe://example.org/ops/*'],
      },
      {
        name: 'whole-domain',
        methods: ['sigil.status.v1.StatusService/Get'],
        callers: ['spiffe://partner.example/*'],
      },
      { name: 'anything', methods: ['*'], callers: ['spiffe://example.org/admin/root'] },
    ],
  });

  it('allows an exact SPIFFE ID on a service wildcard and names the rule', () => {
    expect(evaluatePolicy(policy, { spiffeId: USER_SVC, method: IDENTITY_GET })).toEqual({
      allowed: true,
      rule: 'user-service',
      reason: 'rule-matched',
    });
  });

  it('accepts the method with or without the leading slash', () => {
    expect(
      evaluatePolicy(policy, {
        spiffeId: USER_SVC,
        method: 'sigil.identity.v1.IdentityService/GetUser',
      }).allowed,
    ).toBe(true);
  });

  it('denies by default: another identity, another service, no rule at all', () => {
    expect(
      evaluatePolicy(policy, {
        spiffeId: 'spiffe://example.org/svc/content-service',
        method: IDENTITY_GET,
      }),
    ).toEqual({
      allowed: false,
      reason: 'no-matching-rule',
    });
    expect(
      evaluatePolicy(policy, { spiffeId: USER_SVC, method: '/sigil.user.v1.UserService/GetUser' })
        .allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policyOf({ rules: [] }), { spiffeId: USER_SVC, method: IDENTITY_GET }).reason,
    ).toBe('no-matching-rule');
  });

  it('does not treat an ID that merely starts like an allowed one as allowed', () => {
    expect(
      evaluatePolicy(policy, { spiffeId: `${USER_SVC}-evil`, method: IDENTITY_GET }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: `${USER_SVC}/child`, method: IDENTITY_GET }).allowed,
    ).toBe(false);
  });

  it('matches path prefixes on segment boundaries only', () => {
    const list = '/sigil.identity.v1.IdentityService/ListUsers';
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops/cli', method: list }),
    ).toEqual({ allowed: true, rule: 'ops-tools', reason: 'rule-matched' });
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops/team/cli', method: list })
        .allowed,
    ).toBe(true);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops', method: list }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/opsx/cli', method: list }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops/cli', method: IDENTITY_GET })
        .allowed,
    ).toBe(false);
  });

  it('does not let a malformed ID climb out of a prefix', () => {
    const list = '/sigil.identity.v1.IdentityService/ListUsers';
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops/../admin', method: list })
        .allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/ops/', method: list }).allowed,
    ).toBe(false);
  });

  it('matches a whole trust domain, and no other trust domain', () => {
    const get = 'sigil.status.v1.StatusService/Get';
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://partner.example/svc/a', method: get }).rule,
    ).toBe('whole-domain');
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://partner.example', method: get }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://partner.example.evil/svc/a', method: get })
        .allowed,
    ).toBe(false);
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://evil.partner.example/svc/a', method: get })
        .allowed,
    ).toBe(false);
  });

  it('matches "*" methods for any method', () => {
    expect(
      evaluatePolicy(policy, {
        spiffeId: 'spiffe://example.org/admin/root',
        method: '/some.Other/Thing',
      }).rule,
    ).toBe('anything');
  });

  it('reports the first rule in file order that allows the call', () => {
    const ordered = policyOf({
      rules: [
        { name: 'broad', methods: ['a.B/*'], callers: ['spiffe://example.org/*'] },
        { name: 'narrow', methods: ['a.B/C'], callers: [USER_SVC] },
      ],
    });
    expect(evaluatePolicy(ordered, { spiffeId: USER_SVC, method: 'a.B/C' }).rule).toBe('broad');
    const reversed = policyOf({
      rules: [...ordered.rules]
        .reverse()
        .map((r) => ({ name: r.name, methods: [...r.methods], callers: [...r.callers] })),
    });
    expect(evaluatePolicy(reversed, { spiffeId: USER_SVC, method: 'a.B/C' }).rule).toBe('narrow');
  });

  it('denies a caller without a SPIFFE ID', () => {
    expect(evaluatePolicy(policy, { method: IDENTITY_GET })).toEqual({
      allowed: false,
      reason: 'no-spiffe-id',
    });
    expect(evaluatePolicy(policy, { spiffeId: '', method: IDENTITY_GET }).reason).toBe(
      'no-spiffe-id',
    );
  });

  it('leaves grpc.health.v1 open by default, even without a SPIFFE ID', () => {
    expect(evaluatePolicy(policy, { method: '/grpc.health.v1.Health/Check' })).toEqual({
      allowed: true,
      reason: 'health-open',
    });
    expect(
      evaluatePolicy(policy, {
        spiffeId: 'spiffe://x.org/a',
        method: '/grpc.health.v1.Health/Watch',
      }).allowed,
    ).toBe(true);
  });

  it('puts grpc.health.v1 under the rules when health is restricted', () => {
    const restricted = policyOf({
      health: 'restricted',
      rules: [
        {
          name: 'kubelet-probe',
          methods: ['grpc.health.v1.Health/Check'],
          callers: ['spiffe://example.org/probe'],
        },
      ],
    });
    expect(evaluatePolicy(restricted, { method: '/grpc.health.v1.Health/Check' }).reason).toBe(
      'no-spiffe-id',
    );
    expect(
      evaluatePolicy(restricted, { spiffeId: USER_SVC, method: '/grpc.health.v1.Health/Check' })
        .reason,
    ).toBe('no-matching-rule');
    expect(
      evaluatePolicy(restricted, {
        spiffeId: 'spiffe://example.org/probe',
        method: '/grpc.health.v1.Health/Check',
      }).rule,
    ).toBe('kubelet-probe');
    expect(
      evaluatePolicy(restricted, {
        spiffeId: 'spiffe://example.org/probe',
        method: '/grpc.health.v1.Health/Watch',
      }).allowed,
    ).toBe(false);
  });

  it('does not open look-alike services outside grpc.health.v1', () => {
    expect(evaluatePolicy(policy, { method: '/grpc.health.v1alpha.Health/Check' }).allowed).toBe(
      false,
    );
    expect(evaluatePolicy(policy, { method: '/grpc.health.v1/Check' }).allowed).toBe(false);
  });

  it('evaluates a hand-built policy object the same way (validating it first)', () => {
    const literal: AuthorizationPolicy = {
      source: 'literal',
      health: 'open',
      rules: [{ name: 'r', methods: ['a.B/*'], callers: [USER_SVC] }],
    };
    expect(evaluatePolicy(literal, { spiffeId: USER_SVC, method: 'a.B/C' }).rule).toBe('r');
    const bad: AuthorizationPolicy = {
      source: 'bad literal',
      health: 'open',
      rules: [{ name: 'r', methods: ['a.B/*'], callers: ['nope'] }],
    };
    expect(
      thrown(() => evaluatePolicy(bad, { spiffeId: USER_SVC, method: 'a.B/C' })).message,
    ).toContain('bad literal');
  });

  it('exposes the normalised rules', () => {
    const p = policyOf({ rules: [{ methods: ['/a.B/C'], callers: [USER_SVC] }] });
    expect(p.rules).toEqual([
      { name: 'rules[0]', methods: ['a.B/C'], callers: [USER_SVC], public: false },
    ]);
    expect(p.health).toBe('open');
    expect(p.source).toBe('test policy');
    expect(Object.isFrozen(p)).toBe(true);
  });
});

describe('loadAuthorizationPolicy from files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-authz-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('loads YAML', () => {
    const path = write(
      'policy.yaml',
      [
        'version: 1',
        'health: restricted',
        'rules:',
        '  - name: user-service',
        '    methods: [sigil.identity.v1.IdentityService/*]',
        '    callers:',
        `      - ${USER_SVC}`,
      ].join('\n'),
    );
    const policy = loadAuthorizationPolicy(path);
    expect(policy.source).toBe(path);
    expect(policy.health).toBe('restricted');
    expect(evaluatePolicy(policy, { spiffeId: USER_SVC, method: IDENTITY_GET }).rule).toBe(
      'user-service',
    );
  });

  it('loads JSON', () => {
    const path = write(
      'policy.json',
      JSON.stringify({ rules: [{ name: 'j', methods: ['*'], callers: [USER_SVC] }] }, null, 2),
    );
    expect(
      evaluatePolicy(loadAuthorizationPolicy(path), { spiffeId: USER_SVC, method: IDENTITY_GET })
        .rule,
    ).toBe('j');
  });

  it('names a missing file', () => {
    const err = thrown(() => loadAuthorizationPolicy(join(dir, 'missing.yaml')));
    expect(err.code).toBe('ERR_AUTHZ_POLICY_UNREADABLE');
    expect(err.message).toContain(join(dir, 'missing.yaml'));
    expect(err.message).toContain('no such file');
  });

  it('names the file and line of bad YAML', () => {
    const path = write('bad.yaml', 'rules:\n  - name: x\n    methods: [a.B/*\n');
    const err = thrown(() => loadAuthorizationPolicy(path));
    expect(err.code).toBe('ERR_AUTHZ_POLICY_INVALID');
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/: not valid YAML or JSON: .* at line 4, column 1$/);
    expect(err.details.line).toBe(4);
  });

  it('refuses duplicate keys', () => {
    const path = write('dup.yaml', 'rules: []\nrules: []\n');
    expect(thrown(() => loadAuthorizationPolicy(path)).message).toMatch(/not valid YAML.*unique/i);
  });

  it('names an unknown top-level field', () => {
    const path = write('unknown-top.yaml', 'rules: []\ndefault: allow\n');
    const err = thrown(() => loadAuthorizationPolicy(path));
    expect(err.message).toBe(
      `authorization policy ${path}: unknown field "default" (expected one of version, health, rules)`,
    );
    expect(err.details).toMatchObject({ file: path, field: 'default' });
  });

  it('names the rule with an unknown field', () => {
    const path = write(
      'unknown-rule.yaml',
      `rules:\n  - name: ok\n    methods: ['*']\n    callers: [${USER_SVC}]\n  - name: typo\n    methods: ['*']\n    caller: [${USER_SVC}]\n`,
    );
    const err = thrown(() => loadAuthorizationPolicy(path));
    expect(err.message).toBe(
      `authorization policy ${path}: rules[1] "typo": unknown field "caller" (expected one of name, methods, callers, public)`,
    );
    expect(err.details).toMatchObject({ file: path, rule: 'rules[1]', field: 'caller' });
  });

  it('names the rule and the invalid SPIFFE ID', () => {
    const path = write(
      'bad-id.yaml',
      `rules:\n  - name: bad\n    methods: ['*']\n    callers: [spiffe://Example.org/svc/a]\n`,
    );
    const err = thrown(() => loadAuthorizationPolicy(path));
    expect(err.code).toBe('ERR_AUTHZ_POLICY_INVALID');
    expect(err.message).toContain(path);
    expect(err.message).toContain(
      'rules[0] "bad": callers[0] "spiffe://Example.org/svc/a" is not a valid SPIFFE ID',
    );
    expect(err.message).toContain('lowercase');
  });

  it('refuses a wildcard anywhere but the end of a caller', () => {
    const path = write(
      'bad-prefix.yaml',
      `rules:\n  - methods: ['*']\n    callers: ['spiffe://example.org/*/a']\n`,
    );
    expect(thrown(() => loadAuthorizationPolicy(path)).message).toContain(
      'rules[0]: callers[0] "spiffe://example.org/*/a" is not a valid SPIFFE ID',
    );
  });

  it('refuses an empty file', () => {
    const path = write('empty.yaml', '');
    expect(thrown(() => loadAuthorizationPolicy(path)).message).toContain('the policy is empty');
  });
});

describe('policy document validation', () => {
  const message = (document: unknown): string =>
    thrown(() =>
      loadAuthorizationPolicy(document as AuthorizationPolicyDocument, { source: 'doc' }),
    ).message;

  it.each([
    [[], 'doc: the policy must be a mapping with a "rules" list'],
    [{}, 'doc: rules: must be a list of rules'],
    [{ version: 2, rules: [] }, 'doc: version: unsupported version 2'],
    [{ health: 'closed', rules: [] }, 'doc: health: must be "open" or "restricted", not "closed"'],
    [{ rules: ['x'] }, 'doc: rules[0]: a rule must be a mapping'],
    [
      { rules: [{ methods: [], callers: ['spiffe://a.org/x'] }] },
      'doc: rules[0]: "methods" must be a non-empty list',
    ],
    [
      { rules: [{ methods: 'a.B/*', callers: ['spiffe://a.org/x'] }] },
      'doc: rules[0]: "methods" must be a non-empty list',
    ],
    [{ rules: [{ methods: ['a.B/*'] }] }, 'doc: rules[0]: "callers" must be a non-empty list'],
    [
      { rules: [{ methods: ['a.B/*'], callers: [42] }] },
      'doc: rules[0]: callers[0] must be a non-empty string, not 42',
    ],
    [
      { rules: [{ methods: ['IdentityService'], callers: ['spiffe://a.org/x'] }] },
      'methods[0] "IdentityService" must be "package.Service/Method"',
    ],
    [
      { rules: [{ methods: ['a..B/C'], callers: ['spiffe://a.org/x'] }] },
      'methods[0] "a..B/C" has an invalid service name "a..B"',
    ],
    [
      { rules: [{ methods: ['a.B/C*'], callers: ['spiffe://a.org/x'] }] },
      'methods[0] "a.B/C*" has an invalid method name "C*"',
    ],
    [
      { rules: [{ name: '', methods: ['*'], callers: ['spiffe://a.org/x'] }] },
      'doc: rules[0]: "name" must be a non-empty string',
    ],
    [
      {
        rules: [
          { name: 'same', methods: ['*'], callers: ['spiffe://a.org/x'] },
          { name: 'same', methods: ['*'], callers: ['spiffe://a.org/y'] },
        ],
      },
      'doc: rules[1] "same": duplicate rule name "same"',
    ],
    [
      { rules: [{ methods: ['*'], callers: ['example.org/svc/a'] }] },
      'callers[0] "example.org/svc/a" is not a valid SPIFFE ID',
    ],
  ])('rejects %j', (document, expected) => {
    expect(message(document)).toContain(expected);
  });
});

describe('authorizationPolicyFromEnv', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-authz-env-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fallback: AuthorizationPolicyDocument = {
    rules: [{ name: 'default', methods: ['*'], callers: [USER_SVC] }],
  };

  it('loads the file named by SIGIL_AUTHZ_POLICY in preference to the fallback', () => {
    const path = join(dir, 'p.yaml');
    writeFileSync(
      path,
      `rules:\n  - name: from-file\n    methods: ['*']\n    callers: [${USER_SVC}]\n`,
    );
    const policy = authorizationPolicyFromEnv({ SIGIL_AUTHZ_POLICY: path }, fallback);
    expect(evaluatePolicy(policy, { spiffeId: USER_SVC, method: IDENTITY_GET }).rule).toBe(
      'from-file',
    );
    expect(policy.source).toBe(`${path} (SIGIL_AUTHZ_POLICY)`);
  });

  it('names the variable when its file is bad', () => {
    const err = thrown(() =>
      authorizationPolicyFromEnv({ SIGIL_AUTHZ_POLICY: join(dir, 'nope.yaml') }),
    );
    expect(err.message).toContain(`${join(dir, 'nope.yaml')} (SIGIL_AUTHZ_POLICY)`);
    expect(err.details).toMatchObject({
      variable: 'SIGIL_AUTHZ_POLICY',
      file: join(dir, 'nope.yaml'),
    });
  });

  it('uses the fallback when the variable is unset or empty', () => {
    expect(
      evaluatePolicy(authorizationPolicyFromEnv({}, fallback), {
        spiffeId: USER_SVC,
        method: IDENTITY_GET,
      }).rule,
    ).toBe('default');
    expect(authorizationPolicyFromEnv({ SIGIL_AUTHZ_POLICY: '' }, fallback).source).toBe(
      'default policy (SIGIL_AUTHZ_POLICY not set)',
    );
    const compiled = policyOf(fallback);
    expect(authorizationPolicyFromEnv({}, compiled)).toBe(compiled);
  });

  it('denies everything but health without a variable or fallback', () => {
    const policy = authorizationPolicyFromEnv({});
    expect(evaluatePolicy(policy, { spiffeId: USER_SVC, method: IDENTITY_GET }).allowed).toBe(
      false,
    );
    expect(evaluatePolicy(policy, { method: '/grpc.health.v1.Health/Check' }).allowed).toBe(true);
  });
});

describe('public rules', () => {
  const ENROLL = '/sigil.enroll.v1.EnrollService/Enroll';
  const policy = policyOf({
    rules: [
      { name: 'user-service', methods: ['sigil.enroll.v1.EnrollService/*'], callers: [USER_SVC] },
      { name: 'enrolment', methods: ['sigil.enroll.v1.EnrollService/Enroll'], public: true },
      {
        name: 'agents',
        methods: ['sigil.controlplane.v1.ControlPlane/*'],
        callers: ['spiffe://example.org/connector/*'],
      },
    ],
  });

  it('let a caller without a SPIFFE ID call the public method, and nothing else', () => {
    expect(evaluatePolicy(policy, { method: ENROLL })).toEqual({
      allowed: true,
      rule: 'enrolment',
      reason: 'public-method',
    });
    expect(evaluatePolicy(policy, { method: '/sigil.enroll.v1.EnrollService/Status' })).toEqual({
      allowed: false,
      reason: 'no-spiffe-id',
    });
    expect(
      evaluatePolicy(policy, { method: '/sigil.controlplane.v1.ControlPlane/Connect' }),
    ).toEqual({ allowed: false, reason: 'no-spiffe-id' });
  });

  it('let every authenticated caller through too, reporting the first rule in file order', () => {
    expect(evaluatePolicy(policy, { spiffeId: USER_SVC, method: ENROLL })).toMatchObject({
      rule: 'user-service',
      reason: 'rule-matched',
    });
    expect(
      evaluatePolicy(policy, { spiffeId: 'spiffe://example.org/svc/anyone', method: ENROLL }),
    ).toMatchObject({ allowed: true, rule: 'enrolment', reason: 'public-method' });
  });

  it('are compiled with public: true and no callers, and survive a hand-built copy', () => {
    expect(policy.rules[1]).toEqual({
      name: 'enrolment',
      methods: ['sigil.enroll.v1.EnrollService/Enroll'],
      callers: [],
      public: true,
    });
    const copy: AuthorizationPolicy = { ...policy, rules: policy.rules.map((r) => ({ ...r })) };
    expect(evaluatePolicy(copy, { method: ENROLL }).allowed).toBe(true);
  });

  it('take public or callers, not both, and public must be a boolean', () => {
    expect(
      thrown(() =>
        policyOf({ rules: [{ name: 'x', methods: ['*'], public: true, callers: [USER_SVC] }] }),
      ).message,
    ).toBe(
      'authorization policy test policy: rules[0] "x": a public rule admits every caller: give "public: true" or "callers", not both',
    );
    expect(
      thrown(() =>
        policyOf({
          rules: [{ methods: ['*'], public: 'yes' } as unknown as AuthorizationRuleDocument],
        }),
      ).message,
    ).toBe('authorization policy test policy: rules[0]: "public" must be true or false, not "yes"');
    expect(thrown(() => policyOf({ rules: [{ methods: ['*'], public: false }] })).message).toBe(
      'authorization policy test policy: rules[0]: "callers" must be a non-empty list',
    );
  });
});
