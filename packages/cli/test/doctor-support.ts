// Shared by the `sigil doctor` tests: run a doctor command with --json and read its report.
import type { DoctorCheckResult, DoctorReport } from '../src';
import type { RunCliOptions } from '../src/cli';
import { sigil } from './support';
import type { CliRun } from './support';

/** A doctor run: the process outcome, its parsed report, and lookups into it. */
export interface DoctorRun {
  run: CliRun;
  report: DoctorReport;
  /** The checks with this id. */
  of(id: string): DoctorCheckResult[];
  /** The checks that warned or failed, in order. */
  notPassing: DoctorCheckResult[];
}

/** Runs `sigil doctor <args> --json` in-process; the report's exitCode must be the exit code. */
export async function runDoctor(args: string[], options: RunCliOptions = {}): Promise<DoctorRun> {
  const run = await sigil(['doctor', ...args, '--json'], { env: {}, ...options });
  const report = JSON.parse(run.stdout) as DoctorReport;
  expect(report.exitCode).toBe(run.code);
  return {
    run,
    report,
    of: (id) => report.checks.filter((c) => c.check === id),
    notPassing: report.checks.filter((c) => c.status !== 'pass'),
  };
}
