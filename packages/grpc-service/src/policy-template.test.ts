import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSigilError } from '@sigil/errors';
import { renderPolicyTemplate } from './policy-template';

describe('renderPolicyTemplate', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sigil-policy-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (text: string): string => {
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, text);
    return path;
  };

  it('substitutes strings inside values and expands a list placeholder item', () => {
    const path = write(
      [
        'version: 1',
        'rules:',
        '  - name: svc',
        "    methods: ['a.v1.A/*']",
        "    callers: ['spiffe://${trustDomain}/svc/b', '${clients}']",
      ].join('\n'),
    );
    expect(
      renderPolicyTemplate(path, {
        trustDomain: 'example.org',
        clients: ['spiffe://example.org/client/web', 'spiffe://example.org/client/cli'],
      }),
    ).toEqual({
      version: 1,
      rules: [
        {
          name: 'svc',
          methods: ['a.v1.A/*'],
          callers: [
            'spiffe://example.org/svc/b',
            'spiffe://example.org/client/web',
            'spiffe://example.org/client/cli',
          ],
        },
      ],
    });
  });

  it.each([
    ['an unknown placeholder', 'callers: ["${nope}"]', /unknown placeholder \$\{nope\}/],
    ['a list inside a string', 'callers: ["x-${clients}"]', /is a list/],
    ['bad YAML', 'rules: [', /not valid YAML/],
  ])('refuses %s with ERR_CONFIG_INVALID naming the file', (_what, text, message) => {
    const path = write(text);
    expect.assertions(3);
    try {
      renderPolicyTemplate(path, { clients: ['a'] });
    } catch (err) {
      expect(isSigilError(err, 'ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toContain(path);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('names a missing file', () => {
    expect(() => renderPolicyTemplate(join(dir, 'missing.yaml'), {})).toThrow(
      /missing\.yaml: cannot read the file/,
    );
  });
});
