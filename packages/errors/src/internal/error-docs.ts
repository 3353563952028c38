// Renders docs/errors.md from the catalogue. Run by `pnpm docs:errors`
// (scripts/generate-error-docs.js); error-docs.test.ts fails when the committed file differs.
import { errorInfo, listErrorCodes } from '../error-info';
import { grpcStatusName } from '../grpc-status';
import { toProblemDetails } from '../http-problem';
import { SigilError } from '../sigil-error';

/** The path of the generated file, relative to the repository root. */
export const ERROR_DOCS_PATH = 'docs/errors.md';

const INTRO = `# Error codes

<!-- Generated from packages/errors/src/catalogue.ts by \`pnpm docs:errors\`; do not edit by hand. -->

Every error Sigil raises is a \`SigilError\` (from \`@sigil/errors\`) with a stable code. The code is
public interface: scripts and tests may match on it, and it never changes meaning. The message
next to it names the variable, file, identity or field at fault. Each code below has an anchor: the
code in lower case (\`errors.md#err_tls_env_missing\`).

Every code has one gRPC status, one HTTP status and one exit code, all from
\`packages/errors/src/catalogue.ts\` and applied by one mapping each:

- **gRPC** (\`toGrpcError\`): a call that fails with a \`SigilError\` ends with the code's status and
  the message as details. Anything else ends \`INTERNAL\` with \`internal error\` (the cause is logged).
- **HTTP** (\`toProblemDetails\`): an RFC 9457 body, \`Content-Type: application/problem+json\`:
  \`type\` (this page's anchor), \`title\` (the meaning below), \`status\`, \`detail\`, \`instance\` (the
  path), \`code\`, and the fields the admin API has always sent: \`error\` (the status's name),
  \`reason\` (the message) and \`field\` (the request field at fault, when one is).
- **Exit codes** (\`toExitCode\`): the exit code of a process that stops on the error. \`1\` is the
  general failure. Two programs refine it, as documented with them:
  - \`sigil\` (docs/cli.md) keeps \`0\` and \`1\` for the outcomes of \`certs check\` and
    \`svid verify\` (\`1\`: expiring soon / SVID rejected), so an error whose exit code is \`1\`
    exits \`2\` there; \`64\` and \`70\` are as listed.
  - Long-running processes (controller, agents, services: \`runMain\` of \`@sigil/runtime\`;
    docs/controller.md, docs/agents.md) exit with the code's exit code: \`1\` on any start-up
    failure except the agents' enrollment codes, \`2\` for \`ERR_ENROLLMENT_REFUSED\` and \`3\` for
    \`ERR_CONTROLLER_UNREACHABLE\` and \`ERR_CONTROLLER_UNTRUSTED\`. A crash (\`ERR_INTERNAL\`, the
    code of anything that is not a \`SigilError\`) exits \`1\` there too: \`70\` is the "bug" exit
    of \`sigil\` only.

An example admin API error body:

\`\`\`json
${JSON.stringify(
  toProblemDetails(
    new SigilError('ERR_TOKEN_REQUEST_INVALID', 'kind must be "connector" or "tunneler"', {
      details: { field: 'kind' },
    }),
    { instance: '/api/admin/tokens' },
  ),
  null,
  2,
)}
\`\`\`

Troubleshooting by symptom: [troubleshooting.md](troubleshooting.md).
`;

/** Markdown table cells must not contain a bare pipe. */
const cell = (text: string): string => text.replace(/\|/g, '\\|');

/**
 * The full text of docs/errors.md, generated from the catalogue: an index table, then one section
 * per code (meaning, gRPC status, HTTP status, exit code, fix).
 */
export function renderErrorDocs(): string {
  const codes = listErrorCodes();
  const index = [
    '## Index',
    '',
    '| code | gRPC | HTTP | exit | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...codes.map((code) => {
      const info = errorInfo(code);
      return `| [\`${code}\`](#${info.anchor}) | \`${grpcStatusName(info.grpcStatus)}\` | ${info.httpStatus} | ${info.exitCode} | ${cell(info.meaning)} |`;
    }),
  ];
  const sections = codes.flatMap((code) => {
    const info = errorInfo(code);
    const problem = toProblemDetails(new SigilError(code, ''));
    return [
      `### ${code}`,
      '',
      info.meaning,
      '',
      `- gRPC status: \`${grpcStatusName(info.grpcStatus)}\` (${info.grpcStatus})`,
      `- HTTP status: ${info.httpStatus} (\`error\`: \`${problem.error}\`)`,
      `- exit code: ${info.exitCode}`,
      '',
      `**How to fix.** ${info.fix}`,
      '',
    ];
  });
  return `${[INTRO, ...index, '', '## Codes', '', ...sections].join('\n').trimEnd()}\n`;
}
