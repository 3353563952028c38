// Dockerfiles read instruction by instruction, and the rules every Sigil image follows: multi-stage
// on one pinned base, production dependencies only, a numeric non-root user, no secrets, no
// fetched URLs, a HEALTHCHECK where the process serves /healthz.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** One instruction, continuation lines joined, with the line it starts on. */
export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** One build stage: its FROM and the instructions after it. */
export interface Stage {
  from: Instruction;
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into instructions (comments and blank lines dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending ?? { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.join(' ');
    const space = joined.search(/\s/);
    instructions.push({
      keyword: (space === -1 ? joined : joined.slice(0, space)).toUpperCase(),
      args: space === -1 ? '' : joined.slice(space + 1).trim(),
      line: pending.line,
    });
    pending = undefined;
  });
  return instructions;
}

/** The build stages of a parsed Dockerfile. */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args
        .split(/\s+/)
        .filter((word) => !word.startsWith('--'));
      stages.push({
        from: instruction,
        image: image ?? '',
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
      });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** What one image is checked against. */
export interface ImageExpectations {
  /** `controller`, `identity-service`, ...: the image is `sigil/<name>`, the package `@sigil/<name>`. */
  name: string;
  /** The repository root, the build context. */
  root: string;
  /** Whether the process serves /healthz (then a HEALTHCHECK is required). */
  servesHealth: boolean;
}

const PINNED = /^[a-z0-9./-]+(:\d+\.\d+\.\d+[\w.-]*)?(@sha256:[0-9a-f]{64})?$/;
const SECRET_NAME = /(TOKEN|PASSWORD|PASSWD|SECRET|CREDENTIAL|PRIVATE_KEY|AUTH)/i;
const NUMERIC_USER = /^[1-9]\d*(:[1-9]\d*)?$/;

/** The variable names an ARG or ENV instruction sets. */
function variablesSet(instruction: Instruction): string[] {
  if (instruction.keyword === 'ARG') return [instruction.args.split('=')[0]!.trim()];
  if (!instruction.args.includes('=')) return [instruction.args.split(/\s+/)[0]!];
  return [...instruction.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!);
}

/** The context sources of a COPY without --from (the last argument is the destination). */
function copySources(instruction: Instruction): string[] {
  const args = instruction.args.startsWith('[')
    ? (JSON.parse(instruction.args) as string[])
    : instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
  return args.slice(0, -1);
}

function isExecForm(args: string): boolean {
  try {
    return Array.isArray(JSON.parse(args));
  } catch {
    return false;
  }
}

/** Every rule the Dockerfile breaks, one message each (`line N: ...`); empty when it passes. */
export function checkDockerfile(text: string, image: ImageExpectations): string[] {
  const problems: string[] = [];
  const at = (instruction: Instruction, message: string): void => {
    problems.push(`line ${instruction.line}: ${message}`);
  };
  const instructions = parseDockerfile(text);
  const stages = stagesOf(instructions);
  if (stages.length < 2) {
    problems.push('must be multi-stage: build with dev dependencies, run without them');
    if (stages.length === 0) return problems;
  }
  const names = new Set<string>();
  for (const stage of stages) {
    if (!names.has(stage.image) && !PINNED.test(stage.image))
      at(stage.from, `base image ${stage.image} must be pinned to an exact version or a digest`);
    else if (!names.has(stage.image) && !/[:@]/.test(stage.image))
      at(stage.from, `base image ${stage.image} has no tag or digest`);
    if (stage.name !== undefined) names.add(stage.name);
  }
  const bases = new Set(stages.map((s) => s.image).filter((image) => !names.has(image)));
  if (bases.size > 1)
    problems.push(`build and run on one base image, not ${[...bases].join(', ')}`);

  for (const instruction of instructions) {
    if (instruction.keyword === 'ADD')
      at(
        instruction,
        /\b[a-z]+:\/\//.test(instruction.args)
          ? `ADD fetches a URL at build time (${instruction.args}): unpinned and unverified`
          : 'use COPY, not ADD (which unpacks archives and fetches URLs)',
      );
    if (instruction.keyword === 'ARG' || instruction.keyword === 'ENV')
      for (const variable of variablesSet(instruction))
        if (SECRET_NAME.test(variable))
          at(
            instruction,
            `${instruction.keyword} ${variable} looks like a secret: it would stay in the image history`,
          );
    if (instruction.keyword === 'COPY' && !/--from=/.test(instruction.args))
      for (const source of copySources(instruction))
        if (!existsSync(join(image.root, source)))
          at(instruction, `COPY source ${source} does not exist in the build context`);
  }

  const pkg = `@sigil/${image.name}`;
  const build = stages.slice(0, -1);
  const runs = build.flatMap((s) => s.instructions).filter((i) => i.keyword === 'RUN');
  if (!runs.some((i) => i.args.includes(`--filter ${pkg} deploy --prod`)))
    problems.push(
      `a build stage must \`pnpm --filter ${pkg} deploy --prod\` (production dependencies only)`,
    );

  const final = stages.at(-1)!;
  const of = (keyword: string): Instruction[] =>
    final.instructions.filter((i) => i.keyword === keyword);
  const user = of('USER').at(-1);
  if (user === undefined) at(final.from, 'the final stage must set USER (it would run as root)');
  else if (!NUMERIC_USER.test(user.args))
    at(
      user,
      `USER ${user.args} must be a numeric non-root uid:gid (runAsNonRoot can verify only numbers)`,
    );
  for (const copy of of('COPY'))
    if (!/--from=/.test(copy.args) && copySources(copy).includes('.'))
      at(copy, 'the final stage must not copy the whole build context (sources, dev tooling)');
  if (!of('COPY').some((i) => /--from=/.test(i.args)))
    at(final.from, 'the final stage must copy the deployed package from a build stage');
  if (!of('ENV').some((i) => /\bNODE_ENV=production\b/.test(i.args)))
    at(final.from, 'the final stage must set NODE_ENV=production');
  const entrypoint = of('ENTRYPOINT').at(-1);
  if (entrypoint === undefined || !isExecForm(entrypoint.args))
    at(
      entrypoint ?? final.from,
      'ENTRYPOINT must be in exec form (JSON) so that SIGTERM reaches node',
    );
  const title = of('LABEL').some((i) =>
    i.args.includes(`org.opencontainers.image.title="sigil/${image.name}"`),
  );
  if (!title) at(final.from, `LABEL org.opencontainers.image.title must be "sigil/${image.name}"`);
  const healthcheck = of('HEALTHCHECK').at(-1);
  if (image.servesHealth && (healthcheck === undefined || /^NONE\b/i.test(healthcheck.args)))
    at(final.from, 'the process serves /healthz: add a HEALTHCHECK');
  return problems;
}

/** The paths an image declares as VOLUME. */
export function declaredVolumes(text: string): string[] {
  const final = stagesOf(parseDockerfile(text)).at(-1);
  return (final?.instructions ?? [])
    .filter((i) => i.keyword === 'VOLUME')
    .flatMap((i) => (isExecForm(i.args) ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)));
}

/** The variable and default address the HEALTHCHECK reads the health port from. */
export function healthcheckAddress(
  text: string,
): { variable: string; fallback: string } | undefined {
  const final = stagesOf(parseDockerfile(text)).at(-1);
  const healthcheck = final?.instructions.filter((i) => i.keyword === 'HEALTHCHECK').at(-1);
  const exec = /CMD\s+(\[.*\])$/.exec(healthcheck?.args ?? '');
  if (exec === null) return undefined;
  const [, , variable, fallback] = JSON.parse(exec[1]!) as string[];
  return variable === undefined || fallback === undefined ? undefined : { variable, fallback };
}
