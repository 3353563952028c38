// Runnable snippets of the documentation (docs/contributing.md#runnable-snippets): a fenced block
// directly after `<!-- snippet: <file> [run|serves|check] [VAR=value ...] -->` is the file <file>
// of that document's example project: run to exit 0 (default), started as a server on
// GRPC_LISTEN_ADDR and stopped with SIGTERM (`serves`), or only type-checked (`check`), with the
// given environment.
import * as fs from 'node:fs';
import * as path from 'node:path';

export type SnippetMode = 'run' | 'serves' | 'check';

export interface Snippet {
  /** The markdown file, relative to the repository root. */
  readonly document: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The file name the marker gives the block (`server.ts`, `policy.yaml`). */
  readonly file: string;
  /** How the test exercises it (see the header). */
  readonly mode: SnippetMode;
  /** `VAR=value` pairs of the marker: the environment the snippet runs with. */
  readonly env: Readonly<Record<string, string>>;
  readonly code: string;
}

const MARKER =
  /^<!--\s*snippet:\s*(\S+)(?:\s+(run|serves|check))?((?:\s+[A-Z_][A-Z0-9_]*=\S*)*)\s*-->\s*$/;

/** Every marked block of one markdown file; a marker not followed by a fenced block throws. */
export function extractSnippets(root: string, document: string): Snippet[] {
  const lines = fs.readFileSync(path.join(root, document), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  let fence: string | undefined; // the fence of the block we are in: markers inside are examples
  lines.forEach((text, index) => {
    const opening = /^(`{3,})/.exec(text)?.[1];
    if (fence !== undefined) {
      if (text.trim() === fence) fence = undefined;
      return;
    }
    if (opening) {
      fence = opening;
      return;
    }
    const marker = MARKER.exec(text.trim());
    if (!marker) {
      if (text.includes('<!-- snippet')) {
        throw new Error(`${document}:${index + 1}: malformed snippet marker: ${text.trim()}`);
      }
      return;
    }
    if (!/^```\w+$/.test(lines[index + 1] ?? '')) {
      throw new Error(
        `${document}:${index + 1}: a snippet marker must be followed by a fenced block`,
      );
    }
    const end = lines.findIndex((candidate, at) => at > index + 1 && candidate === '```');
    if (end === -1) throw new Error(`${document}:${index + 2}: fenced block never closes`);
    const env = Object.fromEntries(
      (marker[3] ?? '')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    );
    snippets.push({
      document,
      line: index + 2,
      file: marker[1] ?? '',
      mode: (marker[2] ?? 'run') as SnippetMode,
      env,
      code: lines.slice(index + 2, end).join('\n') + '\n',
    });
  });
  return snippets;
}

/** The markdown files whose snippets are run: README.md, docs/*.md and every package README. */
export function documentsWithSnippets(root: string, packageDirs: readonly string[]): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  const readmes = packageDirs
    .map((dir) => path.relative(root, path.join(dir, 'README.md')))
    .filter((file) => fs.existsSync(path.join(root, file)));
  return ['README.md', ...docs, ...readmes].filter(
    (document) => extractSnippets(root, document).length > 0,
  );
}
