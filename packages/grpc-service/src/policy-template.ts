import { readFileSync } from 'node:fs';
import { SigilError } from '@sigil/errors';
import { parseDocument } from 'yaml';

/**
 * Values substituted into a policy template: a string anywhere, a list as a whole list item.
 *
 * @example
 * ```ts
 * const variables: PolicyTemplateVariables = { trustDomain: 'example.org', allowedClients: ['spiffe://example.org/client/web'] };
 * ```
 */
export type PolicyTemplateVariables = Readonly<Record<string, string | readonly string[]>>;

const PLACEHOLDER = /\$\{([A-Za-z][A-Za-z0-9_]*)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Za-z][A-Za-z0-9_]*)\}$/;

/**
 * Reads a YAML (or JSON) policy template and substitutes `${name}` placeholders: a string
 * variable anywhere inside a string; a list variable only as a whole list item
 * (`callers: ['${allowedClients}']`), which it expands into its elements. An unreadable file, bad
 * YAML or an unknown placeholder throws `ERR_CONFIG_INVALID` naming the file.
 *
 * @example
 * ```ts
 * const document = renderPolicyTemplate('policy/default.yaml', { trustDomain: 'example.org' });
 * const policy = loadAuthorizationPolicy(document as AuthorizationPolicyDocument, { source: 'policy/default.yaml' });
 * ```
 */
export function renderPolicyTemplate(path: string, variables: PolicyTemplateVariables): unknown {
  const fail = (problem: string, cause?: unknown): never => {
    throw new SigilError('ERR_CONFIG_INVALID', `policy template ${path}: ${problem}`, {
      cause,
      details: { file: path },
    });
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`cannot read the file (${(err as Error).message})`, err);
  }
  const document = parseDocument(text, { uniqueKeys: true });
  if (document.errors.length > 0)
    fail(`not valid YAML: ${document.errors[0]!.message.split('\n')[0]}`, document.errors[0]);

  const lookup = (name: string): string | readonly string[] => {
    const value = variables[name];
    return value === undefined
      ? fail(
          `unknown placeholder \${${name}} (known: ${Object.keys(variables).join(', ') || 'none'})`,
        )
      : value;
  };
  const substitute = (text: string): string =>
    text.replace(PLACEHOLDER, (_match, name: string) => {
      const value = lookup(name);
      return typeof value === 'string'
        ? value
        : fail(`\${${name}} is a list; use it alone as a list item`);
    });
  const render = (node: unknown): unknown => {
    if (typeof node === 'string') return substitute(node);
    if (Array.isArray(node)) {
      return node.flatMap((item: unknown) => {
        const whole = typeof item === 'string' ? WHOLE_PLACEHOLDER.exec(item) : null;
        const value = whole === null ? undefined : lookup(whole[1]!);
        return Array.isArray(value) ? [...(value as readonly string[])] : [render(item)];
      });
    }
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, render(value)]));
    }
    return node;
  };
  return render(document.toJS());
}
