// @sigil/cli: the `sigil` command, and the functions behind each of its commands for programs
// that want the same behaviour without a child process.
export { runCli } from './cli';
export type { RunCliOptions } from './cli';
export { ExitCode } from './exit-codes';
export type { ExitCodeValue } from './exit-codes';
export type { CliIo } from './io';
export { initCertificateAuthority } from './commands/ca-init';
export type { CaInitOptions, CaInitResult } from './commands/ca-init';
export { issueCertificateFiles } from './commands/certs-issue';
export type {
  CertsIssueOptions,
  CertsIssueResult,
  IssuedCertificateSummary,
} from './commands/certs-issue';
export { generateCertificateSet } from './commands/certs-generate';
export type {
  CertsGenerateOptions,
  CertsGenerateResult,
  GeneratedIdentity,
} from './commands/certs-generate';
export { checkCertificateFiles } from './commands/certs-check';
export type {
  CertsCheckOptions,
  CertsCheckResult,
  CertsCheckEntry,
  CertsCheckStatus,
} from './commands/certs-check';
export { inspectCertificates } from './commands/certs-inspect';
export type { CertsInspectOptions, CertsInspectResult } from './commands/certs-inspect';
export type { CertificateDetails } from './internal/certificate-details';
export { verifySvidFiles } from './commands/svid-verify';
export type {
  SvidVerifyOptions,
  SvidVerifyResult,
  SvidVerifyAccepted,
  SvidVerifyRejected,
} from './commands/svid-verify';
export { signCsrFile } from './commands/csr-sign';
export type { CsrSignOptions, CsrSignResult } from './commands/csr-sign';
export type { CliKeyType } from './internal/options';
export type { CaPaths, LeafPaths, Layout } from './internal/layouts';
export { doctorAgent, doctorConnect, doctorTls } from './commands/doctor';
export type { DoctorAgentOptions, DoctorConnectOptions, DoctorTlsOptions } from './commands/doctor';
export { DOCTOR_CHECKS } from './doctor/catalogue';
export type {
  DoctorCheckId,
  DoctorCheckResult,
  DoctorReport,
  DoctorStatus,
} from './doctor/catalogue';
export type { DoctorTarget } from './doctor/tls-checks';
export { createAdminClient } from './admin/admin-client';
export type { AdminClient, AdminClientOptions, AdminMethod } from './admin/admin-client';
