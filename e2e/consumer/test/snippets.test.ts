// The snippet markers of docs/contributing.md#runnable-snippets.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractSnippets } from './internal/snippets';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sigil-snippets-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const extract = (markdown: string) => {
  fs.writeFileSync(path.join(dir, 'doc.md'), markdown);
  return extractSnippets(dir, 'doc.md');
};

test('a marked block becomes a file with its mode and environment; unmarked blocks do not', () => {
  const snippets = extract(
    [
      '```ts',
      'fragment();',
      '```',
      '<!-- snippet: server.ts serves GRPC_TLS_DIR=server A=b=c -->',
      '```ts',
      'serve();',
      '```',
      '<!-- snippet: policy.yaml -->',
      '```yaml',
      'rules: []',
      '```',
    ].join('\n'),
  );
  expect(snippets).toEqual([
    {
      document: 'doc.md',
      line: 5,
      file: 'server.ts',
      mode: 'serves',
      env: { GRPC_TLS_DIR: 'server', A: 'b=c' },
      code: 'serve();\n',
    },
    { document: 'doc.md', line: 9, file: 'policy.yaml', mode: 'run', env: {}, code: 'rules: []\n' },
  ]);
});

test('a marker shown inside a fenced example is not a snippet', () => {
  expect(
    extract(['````md', '<!-- snippet: x.ts -->', '```ts', 'x();', '```', '````'].join('\n')),
  ).toEqual([]);
});

test('a malformed marker or one without a block names the document and line', () => {
  expect(() => extract('text\n<!-- snippet: x.ts GRPC_TLS_DIR -->\n```ts\nx();\n```\n')).toThrow(
    'doc.md:2: malformed snippet marker',
  );
  expect(() => extract('<!-- snippet: x.ts -->\n\n```ts\nx();\n```\n')).toThrow(
    'doc.md:1: a snippet marker must be followed by a fenced block',
  );
});
