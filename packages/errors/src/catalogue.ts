import { GrpcStatus as G } from './grpc-status';
import type { GrpcStatusCode } from './grpc-status';

/**
 * The HTTP statuses Sigil answers errors with. The HTTP mapping names each one in the `error`
 * field of a problem body (`bad_request` for 400, ...).
 *
 * @example
 * ```ts
 * const status: HttpErrorStatus = errorInfo('ERR_REQUEST_INVALID').httpStatus; // 400
 * ```
 */
export type HttpErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 429 | 500 | 503;

/**
 * What the catalogue knows about one error code.
 *
 * @example
 * ```ts
 * const entry: ErrorCatalogueEntry = ERROR_CATALOGUE.ERR_TLS_ENV_MISSING;
 * console.log(entry.meaning, entry.fix);
 * ```
 */
export interface ErrorCatalogueEntry {
  /** The gRPC status a call that fails with this error ends with. */
  readonly grpcStatus: GrpcStatusCode;
  /** The HTTP status of a problem body for this error. */
  readonly httpStatus: HttpErrorStatus;
  /**
   * The exit code of a Sigil process that stops on this error. `1` is the general failure; the
   * `sigil` CLI reports it as `2` because `1` is its "attention" outcome (see docs/errors.md).
   */
  readonly exitCode: number;
  /** One line: what happened. */
  readonly meaning: string;
  /** What to do about it. */
  readonly fix: string;
}

/**
 * Every error code of Sigil, in one place: its gRPC status, HTTP status, exit code, meaning and
 * fix. docs/errors.md is generated from it (`pnpm docs:errors`). Codes are public interface: add
 * entries, never rename one.
 *
 * @example
 * ```ts
 * import { ERROR_CATALOGUE } from '@sigil/errors';
 *
 * console.log(ERROR_CATALOGUE.ERR_PEM_MALFORMED.grpcStatus); // 3 (INVALID_ARGUMENT)
 * ```
 */
export const ERROR_CATALOGUE = {
  ERR_AGENT_ALREADY_ENROLLED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 409,
    exitCode: 1,
    meaning: '`enroll` was run with a `STATE_DIR` that already holds an identity.',
    fix: 'Run `run` with that `STATE_DIR` (no token needed), or remove the `STATE_DIR` to enroll again with a new token.',
  },
  ERR_AGENT_NOT_CONNECTED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 409,
    exitCode: 1,
    meaning:
      'The connector has no open control stream, so the controller cannot send it a command.',
    fix: 'Check that the connector runs and is connected (`GET /api/admin/connectors`, `connected: true`), then retry.',
  },
  ERR_AGENT_REVOKED: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 4,
    meaning:
      'The agent identity was revoked by an operator: the controller refuses its renewals and streams, and connectors refuse it.',
    fix: 'Find the reason in `GET /api/admin/revocations`. If the agent should run again, create a new enrollment token and run `enroll` again; do not restart it in a loop.',
  },
  ERR_AGENT_UPGRADE_REQUIRED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 403,
    exitCode: 5,
    meaning:
      "The agent's version is below the minimum the controller pins for its kind (`PUT /api/admin/agent-versions`) and the grace period (`AGENT_UPGRADE_GRACE`) is over: the controller refuses its renewals.",
    fix: 'Install the minimum version named in the message (or later) and start the agent again with the same `STATE_DIR`; while its certificate is still valid no new enrollment is needed. Do not restart the old version in a loop.',
  },
  ERR_ADMIN_API_FAILED: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning:
      "The admin API gave `sigil admin` no usable answer: a server error (5xx), or a body that is not the admin API's JSON (the URL points at something else).",
    fix: "Check that `SIGIL_ADMIN_URL` is the controller's `ADMIN_LISTEN_ADDR` (`http://HOST:PORT`), and read the controller's log (`http.request_failed`); retry once it is healthy.",
  },
  ERR_ADMIN_CSRF: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      "A state-changing admin request authenticated by the console session cookie (`sigil_session`) lacks the session's `X-CSRF-Token` header, or sends a wrong one.",
    fix: 'Send `X-CSRF-Token` with the `csrf_token` of `POST /api/admin/session` or `GET /api/admin/session`; scripts should use `Authorization: Bearer` (an API token) instead of the cookie.',
  },
  ERR_ADMIN_FORBIDDEN: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      'An authenticated admin request needs a role its principal does not have (a `viewer` tried a change).',
    fix: 'Sign in as a user with the `admin` role, or ask an admin to do it.',
  },
  ERR_ADMIN_UNAUTHORIZED: {
    grpcStatus: G.UNAUTHENTICATED,
    httpStatus: 401,
    exitCode: 1,
    meaning: 'An admin API request has no `Authorization: Bearer` header, or a wrong admin token.',
    fix: 'Send `Authorization: Bearer <token>` with the value of `SIGIL_ADMIN_TOKEN` (or the token the controller printed at its first start).',
  },
  ERR_ADMIN_USER_EXISTS: {
    grpcStatus: G.ALREADY_EXISTS,
    httpStatus: 409,
    exitCode: 1,
    meaning:
      'A console user with that name already exists (`POST /api/admin/users`, `sigil-controller admin-user add`).',
    fix: "Pick another name, or change the existing user's password (`sigil-controller admin-user passwd NAME`).",
  },
  ERR_AUTHZ_POLICY_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'The authorization policy is not valid: bad YAML/JSON, an unknown field, a bad pattern or SPIFFE ID, a duplicate rule name.',
    fix: 'Fix the policy at the place the message names; see docs/authorization.md for the format.',
  },
  ERR_AUTHZ_POLICY_UNREADABLE: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'The authorization policy file cannot be read.',
    fix: 'Check the path (`SIGIL_AUTHZ_POLICY` or the option) and that the process user may read the file.',
  },
  ERR_BUNDLE_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A trust bundle holds a certificate that is not a CA certificate.',
    fix: 'Put only CA certificates (basicConstraints CA:TRUE) in the bundle; the message names the certificate by position and subject.',
  },
  ERR_CA_EXPIRED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'The CA is not valid at the issuance time, so it cannot issue.',
    fix: 'Renew or replace the CA (`sigil ca init`), then re-issue the certificates it signs.',
  },
  ERR_CA_INVALID: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'The CA certificate cannot act as a CA: not a CA, no keyCertSign, no `spiffe://` trust-domain SAN, or a pathLen that forbids the request.',
    fix: 'Use a CA created by `sigil ca init` (or one with the properties the message names).',
  },
  ERR_CA_NOT_FOUND: {
    grpcStatus: G.NOT_FOUND,
    httpStatus: 404,
    exitCode: 1,
    meaning: 'The CA directory holds neither `ca.crt` + `ca.key` nor `cert.pem` + `key.pem`.',
    fix: 'Point `--ca` at the directory `sigil ca init` wrote, or create one there.',
  },
  ERR_CA_ROTATION_REFUSED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 409,
    exitCode: 1,
    meaning:
      'A runtime CA rotation step is not allowed now: nothing prepared, a rotation already in flight, agents that have not acknowledged the new root, or live certificates still under the root being retired.',
    fix: 'Read `sigil admin ca status` (`GET /api/admin/ca`): it names the step, the agents in the way and when the grace period ends; wait, or retire with `--force` to make them renew first.',
  },
  ERR_CERT_EXPIRED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A certificate (or one of its chain) is past its notAfter.',
    fix: 'Issue a new certificate (`sigil certs issue`) or let the agent renew it; check the clock.',
  },
  ERR_CERT_NOT_YET_VALID: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A certificate (or one of its chain) is before its notBefore.',
    fix: 'Check the clocks of the issuing and the using machine (NTP); wait or re-issue.',
  },
  ERR_CONFIG_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'A setting (environment variable, flag, YAML key or option) has a value that is not valid.',
    fix: 'Correct the value of the setting the message names; `--help` lists every setting with its format.',
  },
  ERR_CONFIG_MISSING: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A required setting is not set.',
    fix: 'Set the variable, flag or YAML key the message names.',
  },
  ERR_CONTROLLER_DRAINING: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 1,
    meaning: 'The controller is shutting down and accepts no new control streams.',
    fix: 'Nothing: agents reconnect by themselves, to the same controller after its restart or to another one.',
  },
  ERR_CONTROLLER_NAME_MISMATCH: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning:
      "The controller's certificate verifies against `CONTROLLER_CA_PATH` but is not for the name the agent checks (the host of `CONTROLLER_ADDR`, or `CONTROLLER_SERVER_NAME`).",
    fix: 'Set `CONTROLLER_SERVER_NAME` to one of the names the message lists (those the certificate holds), or dial the controller by one of them.',
  },
  ERR_CONTROLLER_NOT_STARTED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'A property of the controller that exists only while it runs was read before `start()`.',
    fix: 'Call `await controller.start()` first.',
  },
  ERR_CONTROLLER_STARTED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: '`start()` was called on a controller that is already started.',
    fix: 'Start a controller once; create a new one to start again after `close()`.',
  },
  ERR_CONTROLLER_UNREACHABLE: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning: 'No controller answers at any `CONTROLLER_ADDR`.',
    fix: 'Check the address, the firewall (`nc -zv HOST 8443`) and that the controller runs.',
  },
  ERR_CONTROLLER_UNTRUSTED: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning: "The controller's certificate does not verify against `CONTROLLER_CA_PATH`.",
    fix: 'Fetch the bootstrap CA again (`GET /api/admin/bootstrap-ca`) into `CONTROLLER_CA_PATH`; check with `openssl s_client -connect HOST:8443 -CAfile <file>`.',
  },
  ERR_CRYPTO_PROVIDER_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'The object given to `setCryptoProvider` is not a WebCrypto implementation.',
    fix: 'Pass an object with `subtle` and `getRandomValues` (for example `globalThis.crypto`).',
  },
  ERR_CSR_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A certificate signing request is malformed, its self-signature fails, or its key is weak.',
    fix: 'Create a new PKCS#10 CSR with a supported key (ECDSA P-256, RSA ≥ 2048, Ed25519); `details.reason` says what failed.',
  },
  ERR_DATA_DIR_LOCKED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 409,
    exitCode: 1,
    meaning:
      'Another controller process already runs on this `DATA_DIR` with the embedded SQLite store, which serves one replica only.',
    fix: 'Stop the other controller, give this one its own `DATA_DIR`, or run replicas on PostgreSQL (`DATABASE_URL`).',
  },
  ERR_DATA_DIR_UNUSABLE: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      "The controller's `DATA_DIR` cannot be created, is open to other users or owned by another user, or holds half of a key pair.",
    fix: 'Run the `chmod 700` / `chown` the message names, or restore the missing file from backup (deleting both creates a CA no enrolled agent trusts).',
  },
  ERR_ENROLLMENT_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      "The controller's enrollment answer is unusable: not a valid X509-SVID for this agent, kind and key.",
    fix: 'Check that `CONTROLLER_ADDR` is a Sigil controller of the expected trust domain; report it if it is.',
  },
  ERR_ENROLLMENT_REFUSED: {
    grpcStatus: G.UNAUTHENTICATED,
    httpStatus: 401,
    exitCode: 2,
    meaning:
      'The controller refused the enrollment: the token was used, expired, never existed, or was created for another id or kind.',
    fix: 'Find the token prefix in `GET /api/admin/audit?action=enrollment.refused` (`details.reason`); create a new token for exactly this agent id and kind.',
  },
  ERR_FILE_EXISTS: {
    grpcStatus: G.ALREADY_EXISTS,
    httpStatus: 409,
    exitCode: 1,
    meaning: 'A file would be overwritten.',
    fix: 'Choose another path, or pass `--force` to replace it.',
  },
  ERR_FILE_UNREADABLE: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A file is missing, a directory, or not readable by the process user.',
    fix: 'Check the path the message names and its permissions.',
  },
  ERR_FILE_UNWRITABLE: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'An output file cannot be written.',
    fix: 'Check that the directory exists and is writable by the process user.',
  },
  ERR_HOST_UNREACHABLE: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning:
      '`sigil certs inspect HOST:PORT` could not connect or complete a TLS handshake (refused, timed out, not TLS, or the server wants a client certificate).',
    fix: 'Check the address and that the server speaks TLS on that port; for an mTLS server pass `--cert` and `--key`.',
  },
  ERR_IDENTITY_UNUSABLE: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      "The agent's identity cannot be used: its certificate expired while the agent was down, or while its process was stopped or suspended (it then stops at runtime too), or it is not valid yet because this host's clock is behind.",
    fix: 'Create a new enrollment token and run `enroll` again; for "not valid before ... check the clock", fix the host clock (NTP) instead.',
  },
  ERR_INTERNAL: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 70,
    meaning: 'An unexpected failure: a bug, or an error Sigil does not classify.',
    fix: 'Look for the logged cause (`main.failed`, `rpc.failed`, `http.request_failed`) and report it with the command line.',
  },
  ERR_JWT_CONFIG_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'The JWT interceptor is misconfigured: unreadable or invalid JWKS, a private key in the JWKS, a non-https JWKS URL, bad `exemptMethods` or `SIGIL_JWT_*` value.',
    fix: 'Fix the option or variable the message names; see docs/authorization.md.',
  },
  ERR_JWT_ROTATION_REFUSED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 409,
    exitCode: 1,
    meaning:
      'A JWT authority rotation step is not allowed now: nothing prepared, a key already prepared or not yet retired, or JWT-SVIDs signed by the key being retired may still be valid.',
    fix: 'Read `sigil admin jwt-authority status` (`GET /api/admin/jwt-authority`): it lists the published keys and when the previous one may retire; wait, or retire with `--force`.',
  },
  ERR_JWT_SVID_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A JWT-SVID fails the JWT-SVID specification: not JWS compact, a disallowed alg, no kid or an unknown one, a bad signature, sub not a SPIFFE ID, the audience missing from aud, or expired.',
    fix: 'Fetch a fresh JWT-SVID for the audience the validator expects (`FetchJWTSVID`), from an agent of a trust domain the validator has the JWT bundle of.',
  },
  ERR_JWT_UNVERIFIED: {
    grpcStatus: G.UNAUTHENTICATED,
    httpStatus: 401,
    exitCode: 1,
    meaning: 'A handler asked for the tenant of a call that has no verified bearer token.',
    fix: 'Install the JWT interceptor on the server (and do not exempt the method), or send a bearer token.',
  },
  ERR_KEY_MISMATCH: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A private key is not the key of the certificate it is paired with.',
    fix: 'Pair the certificate with its own key (both files are named); re-issue if the key is lost.',
  },
  ERR_KEY_PERMISSIONS: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A private key file is readable by other users.',
    fix: 'Run `chmod 600` on the file the message names.',
  },
  ERR_KEY_UNSUPPORTED: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A key is encrypted, weak, or of a type Sigil does not accept.',
    fix: 'Use an unencrypted PEM key: ECDSA P-256, RSA ≥ 2048 or Ed25519 (protect the file with mode 0600).',
  },
  ERR_LISTEN_FAILED: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'A server cannot listen on its address: the port is taken, or the address is not local.',
    fix: 'Free the port or choose another address (the message names the variable).',
  },
  ERR_METHOD_NOT_ALLOWED: {
    grpcStatus: G.UNIMPLEMENTED,
    httpStatus: 405,
    exitCode: 1,
    meaning: 'An HTTP endpoint does not accept the request method.',
    fix: 'Use one of the methods of the `Allow` header.',
  },
  ERR_METRIC_CONFLICT: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'The Prometheus registry already holds a metric of the same name and another type.',
    fix: 'Give the other metric another name, or use a separate registry.',
  },
  ERR_NOT_ENROLLED: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: '`run` found no agent identity in `STATE_DIR`.',
    fix: 'Run `enroll` first with the same `STATE_DIR`, or `run --ephemeral`.',
  },
  ERR_NOT_FOUND: {
    grpcStatus: G.NOT_FOUND,
    httpStatus: 404,
    exitCode: 1,
    meaning: 'The requested endpoint or object does not exist.',
    fix: 'Check the path and the id (for example with `GET /api/admin/connectors`).',
  },
  ERR_PAYLOAD_TOO_LARGE: {
    grpcStatus: G.RESOURCE_EXHAUSTED,
    httpStatus: 413,
    exitCode: 1,
    meaning: 'A request body is larger than the endpoint reads (16 KiB for the admin API).',
    fix: 'Send a smaller body.',
  },
  ERR_PEER_UNAUTHENTICATED: {
    grpcStatus: G.UNAUTHENTICATED,
    httpStatus: 401,
    exitCode: 1,
    meaning:
      'The caller presented no client certificate, or one that is not a valid agent X509-SVID of this controller, or one the controller no longer honours: superseded by a later renewal or enrollment (`reason: certificate_superseded`), or expired under an open stream that was not re-authenticated.',
    fix: 'Enroll the agent (again) so it holds a current SVID of this controller, and call with it. A superseded certificate means another holder of the identity renewed: check the audit (`renewal.refused`, `controlplane.stream_conflict`) before re-enrolling.',
  },
  ERR_PEM_MALFORMED: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A file or value holds no PEM block of the expected type, a truncated block, or corrupt base64/DER.',
    fix: 'Check that the file the message names is the certificate or key it should be, complete (`openssl x509 -in FILE -noout -text`).',
  },
  ERR_PROFILE_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A certificate profile other than `server`, `client` or `svid` was asked for.',
    fix: 'Use `server`, `client` or `svid`.',
  },
  ERR_RATE_LIMITED: {
    grpcStatus: G.RESOURCE_EXHAUSTED,
    httpStatus: 429,
    exitCode: 1,
    meaning: 'Too many requests from this caller in a short time; the request was not processed.',
    fix: 'Retry after the delay the response names (`retry_after_seconds`, or the `Retry-After` header); a well-behaved agent never needs to.',
  },
  ERR_RENEWAL_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      "The controller's renewal answer is unusable: not a valid X509-SVID for this agent and key.",
    fix: 'Nothing at once: the agent keeps its current certificate and retries; report it if it repeats.',
  },
  ERR_REQUEST_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A request (gRPC message, HTTP body, path or query parameter) has a missing or invalid field.',
    fix: 'Correct the field the message (and `field`) names.',
  },
  ERR_RESOURCE_EXISTS: {
    grpcStatus: G.ALREADY_EXISTS,
    httpStatus: 409,
    exitCode: 1,
    meaning: 'A data-plane resource with that name already exists (`POST /api/admin/resources`).',
    fix: 'Pick another name, or delete the existing resource first (`sigil admin resources delete <name>`).',
  },
  ERR_SAN_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A certificate would have no identity at all, a malformed DNS name, or an IP SAN that is not an IP address.',
    fix: 'Give a SPIFFE ID, a valid DNS name or an IP address.',
  },
  ERR_SERVICE_UNREACHABLE: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning:
      'Nothing answers at the address of a service a client calls (connection refused, unknown host), or the service is unavailable.',
    fix: 'Start the service at that address, or set the variable the message names to the address it listens on.',
  },
  ERR_SPIFFE_ID_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      "A SPIFFE ID is not valid (`details.rule`), is outside the CA's trust domain, or has no path.",
    fix: 'Write it as `spiffe://<trust-domain>/<path>` in the trust domain of the CA.',
  },
  ERR_STATE_INVALID: {
    grpcStatus: G.FAILED_PRECONDITION,
    httpStatus: 500,
    exitCode: 1,
    meaning: "The agent's `STATE_DIR` was edited, mixed with another agent's, or truncated.",
    fix: 'Restore it from a backup, or enroll again into an empty directory.',
  },
  ERR_STATE_UNWRITABLE: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'The agent cannot write its identity to `STATE_DIR`, or `STATE_DIR` is open to other users or owned by another user.',
    fix: "Fix the directory's ownership and mode as the message says (`chmod 700`; systemd's `StateDirectory=` does it for you).",
  },
  ERR_STORE_UNAVAILABLE: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 1,
    meaning:
      "The controller's store (embedded SQLite file or PostgreSQL) cannot be opened or used.",
    fix: 'Check the database location the message names, its permissions or connectivity.',
  },
  ERR_SUBJECT_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A common name is empty or longer than 64 characters.',
    fix: 'Use a common name of 1 to 64 characters.',
  },
  ERR_SVID_INVALID: {
    grpcStatus: G.UNAUTHENTICATED,
    httpStatus: 401,
    exitCode: 1,
    meaning: 'A certificate with a SPIFFE ID breaks an X509-SVID rule (`details.rule`).',
    fix: 'Re-issue it as an SVID (`sigil certs issue --spiffe-id ...`); the rule names what to change.',
  },
  ERR_TENANT_MISMATCH: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      "The call's verified bearer token names no tenant, or another tenant than the request.",
    fix: 'Call with a token issued for the tenant of the request.',
  },
  ERR_TLS_CA_MISMATCH: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning: 'A certificate does not chain to the configured CA bundle.',
    fix: 'Configure the CA that signed the certificate, or re-issue the certificate from the configured CA.',
  },
  ERR_TLS_CONFIG_AMBIGUOUS: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'Two TLS conventions or two equivalent variables are set and disagree.',
    fix: 'Use one convention and unset the other variables the message names.',
  },
  ERR_TLS_CONFIG_INVALID: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning:
      'A TLS setting is malformed: a boolean, mode, TLS version, SPIFFE ID, YAML type or unknown key.',
    fix: 'Correct the setting the message names; see docs/grpc-tls.md.',
  },
  ERR_TLS_DEV_IN_PRODUCTION: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: '`dev` TLS mode was asked for with `NODE_ENV=production`.',
    fix: 'Configure real certificates for production, or do not set `NODE_ENV=production` in development.',
  },
  ERR_TLS_ENV_MISSING: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'A required TLS variable (certificate, key or CA) is not set.',
    fix: 'Set the variable the message names (it is of the convention in use); see docs/grpc-tls.md.',
  },
  ERR_TLS_GRPC_UNSUPPORTED: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'The installed @grpc/grpc-js lacks the secure-connector hook @sigil/grpc-tls needs.',
    fix: 'Install @grpc/grpc-js 1.12 or later.',
  },
  ERR_TLS_HANDSHAKE_FAILED: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 1,
    meaning:
      "A TLS handshake failed: the server's certificate did not verify against the configured CA, the server refused this client's certificate, or the two share no TLS version.",
    fix: "Check the setting and file the message names (the CA bundle, the client certificate, SIGIL_TLS_MIN_VERSION); OpenSSL's words follow in parentheses.",
  },
  ERR_TLS_INSECURE_IN_PRODUCTION: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: '`insecure` mode or skip-verify was asked for with `NODE_ENV=production`.',
    fix: 'Use mTLS; only if you must, also set `SIGIL_ALLOW_INSECURE_IN_PRODUCTION=true`.',
  },
  ERR_TLS_PEER_IDENTITY_MISMATCH: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 1,
    meaning:
      "In the handshake, the server's SPIFFE ID is not the expected one, or a SPIFFE-only certificate met a host-name check.",
    fix: "Set the expected SPIFFE ID to the server's, or issue the server a certificate with that ID (or the DNS name dialled).",
  },
  ERR_TLS_RELOAD_FAILED: {
    grpcStatus: G.INTERNAL,
    httpStatus: 500,
    exitCode: 1,
    meaning: 'Reloading the TLS files failed with an unexpected error; the old material is kept.',
    fix: 'Check the files and the logged cause; the next change of the files is retried.',
  },
  ERR_TOKEN_REQUEST_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A request for an enrollment token has a missing or invalid field (`kind`, `id`, `connector_id`, `ttl_seconds`).',
    fix: 'Correct the field `field` names; see docs/admin-api.md.',
  },
  ERR_TRUST_DOMAIN_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      "A trust domain name is not valid, or an intermediate CA leaves its parent's trust domain.",
    fix: "Use a lower-case DNS-like name (`example.org`); keep intermediates in the root's trust domain.",
  },
  ERR_TTL_INVALID: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 1,
    meaning:
      'A certificate lifetime is below one second or not finite, or a back-dating is negative.',
    fix: 'Give a positive lifetime (`90s`, `24h`, `30d`).',
  },
  ERR_USAGE: {
    grpcStatus: G.INVALID_ARGUMENT,
    httpStatus: 400,
    exitCode: 64,
    meaning:
      'The command line is wrong: an unknown command or flag, a missing or conflicting flag, a malformed value.',
    fix: 'See `--help` of the command; nothing was written.',
  },
  ERR_WORKLOAD_API_UNAVAILABLE: {
    grpcStatus: G.UNAVAILABLE,
    httpStatus: 503,
    exitCode: 3,
    meaning:
      'The SPIFFE Workload API socket (`SPIFFE_ENDPOINT_SOCKET`, `SIGIL_WORKLOAD_API_SOCKET`) is missing, refuses connections, or its server cannot serve (no agent identity yet, socket path unusable).',
    fix: 'Start the agent that serves the socket (a Sigil connector with `SIGIL_WORKLOAD_API_SOCKET`, or SPIRE), and point `SPIFFE_ENDPOINT_SOCKET` at it as `unix:///path`.',
  },
  ERR_WORKLOAD_ATTESTATION_FAILED: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      'The Workload API could not identify the calling process from its unix socket peer credentials (the process exited, or /proc cannot be read).',
    fix: 'Call the Workload API from a live local process over its unix socket; run the agent with access to /proc.',
  },
  ERR_WORKLOAD_NOT_ENTITLED: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      'No registration entry matches the calling workload (its selectors), or the entry is not parented to this agent: the Workload API has no identity for it.',
    fix: 'Create an entry for it: `sigil admin entries create --spiffe-id ... --parent-id <agent SPIFFE ID> --selector unix:uid:<uid>`.',
  },
  ERR_WRONG_AGENT_KIND: {
    grpcStatus: G.PERMISSION_DENIED,
    httpStatus: 403,
    exitCode: 1,
    meaning:
      'An agent called an RPC reserved for the other kind (a tunneler opened a connector control stream).',
    fix: 'Check that the agent runs with the identity of its kind (`STATE_DIR` of a connector for a connector).',
  },
} as const satisfies Record<`ERR_${string}`, ErrorCatalogueEntry>;
