// For users: the error class, the catalogue and the three mappings (gRPC, HTTP, exit codes).
export { SigilError, isSigilError } from './sigil-error';
export type { SigilErrorCode, SigilErrorOptions } from './sigil-error';
export { ERROR_CATALOGUE } from './catalogue';
export type { ErrorCatalogueEntry, HttpErrorStatus } from './catalogue';
export { ERRORS_DOCS_URL, errorInfo, isSigilErrorCode, listErrorCodes } from './error-info';
export type { ErrorInfo } from './error-info';
export { toGrpcError } from './grpc-error';
export type { GrpcStatusError } from './grpc-error';
export { toProblemDetails, PROBLEM_CONTENT_TYPE } from './http-problem';
export type { ProblemDetails, ProblemDetailsOptions } from './http-problem';
export { toExitCode } from './exit-code';

// For other Sigil packages: gRPC status numbers without a gRPC dependency.
export { GrpcStatus, grpcStatusName, isGrpcErrorStatus } from './grpc-status';
export type { GrpcStatusCode } from './grpc-status';
