import type * as grpc from '@grpc/grpc-js';
import { SigilError, isSigilError, toGrpcError } from '@sigil/errors';
import { spiffeWorkload } from '@sigil/proto';
import { matchEntries, type WorkloadEntry } from './entries';
import { validateJwtSvid } from './jwt-svid';
import type { WorkloadIdentities } from './workload-identities';

/**
 * The metadata every Workload API call carries (SPIFFE Workload API specification); a call
 * without `workload.spiffe.io: true` is refused with INVALID_ARGUMENT.
 *
 * @example
 * ```ts
 * metadata.set(WORKLOAD_API_HEADER, 'true');
 * ```
 */
export const WORKLOAD_API_HEADER = 'workload.spiffe.io';

/** What one connection's handlers know about the calling workload. */
export interface AttestedCaller {
  /** The workload's selectors, or the attestation failure. */
  readonly selectors: Promise<string[]>;
  /** For logs. */
  readonly describe: string;
}

/** Hooks of the handlers (logging, stream accounting). */
export interface HandlerHooks {
  /** False when no stream may open now (the server's stream budget is spent). */
  openStream(): boolean;
  closeStream(): void;
  onRefused(caller: AttestedCaller, method: string, error: SigilError): void;
}

type Status = grpc.ServerErrorResponse;

const headerMissing = (): Status =>
  toGrpcError(
    new SigilError(
      'ERR_REQUEST_INVALID',
      `security header missing from request: every Workload API call carries the metadata "${WORKLOAD_API_HEADER}: true"`,
      { details: { field: WORKLOAD_API_HEADER } },
    ),
  );

const notEntitled = (selectors: readonly string[]): SigilError =>
  new SigilError(
    'ERR_WORKLOAD_NOT_ENTITLED',
    'no identity issued: no registration entry of this agent matches the calling workload',
    { details: { selectors } },
  );

const trustDomainId = (trustDomain: string): string => `spiffe://${trustDomain}`;

/**
 * The SpiffeWorkloadAPI implementation for one attested connection: every call checks the
 * security header (INVALID_ARGUMENT without it) and that the caller matches at least one entry
 * (PERMISSION_DENIED otherwise, and nothing else); the three Fetch streams push a new response
 * after every change of what they carry, and end with PERMISSION_DENIED when the caller loses its
 * last entry.
 */
export function createWorkloadApiHandlers(
  identities: WorkloadIdentities,
  caller: AttestedCaller,
  hooks: HandlerHooks,
): spiffeWorkload.SpiffeWorkloadAPIServer {
  const entitled = async (metadata: grpc.Metadata, method: string): Promise<WorkloadEntry[]> => {
    if (metadata.get(WORKLOAD_API_HEADER)[0] !== 'true') throw headerMissing();
    let selectors: string[];
    try {
      selectors = await caller.selectors;
    } catch (err) {
      const error = isSigilError(err)
        ? err
        : new SigilError('ERR_WORKLOAD_ATTESTATION_FAILED', 'attestation failed', { cause: err });
      hooks.onRefused(caller, method, error);
      throw toGrpcError(error);
    }
    const entries = matchEntries(identities.entries(), selectors);
    if (entries.length === 0) {
      const error = notEntitled(selectors);
      hooks.onRefused(caller, method, error);
      throw toGrpcError(error);
    }
    return entries;
  };
  const asStatus = (err: unknown): Status =>
    (err as Status).code !== undefined && !isSigilError(err) ? (err as Status) : toGrpcError(err);

  /** Runs a server stream: writes `build()` now and after each change while it differs. */
  const stream = <Req, Res>(
    method: string,
    build: (entries: WorkloadEntry[]) => Promise<Res | undefined>,
    encode: (res: Res) => Uint8Array,
  ): grpc.handleServerStreamingCall<Req, Res> => {
    return (call) => {
      if (!hooks.openStream()) {
        call.emit(
          'error',
          toGrpcError(
            new SigilError('ERR_WORKLOAD_API_UNAVAILABLE', 'too many Workload API streams; retry'),
          ),
        );
        return;
      }
      let closed = false;
      let last: Buffer | undefined;
      let stop = (): void => undefined;
      const finish = (): void => {
        if (closed) return;
        closed = true;
        stop();
        hooks.closeStream();
      };
      call.on('cancelled', finish);
      call.on('close', finish);
      const fail = (err: unknown): void => {
        if (closed) return;
        finish();
        call.emit('error', asStatus(err));
      };
      let queue = Promise.resolve();
      const push = (): void => {
        queue = queue
          .then(async () => {
            if (closed) return;
            const selectors = await caller.selectors;
            const entries = matchEntries(identities.entries(), selectors);
            if (entries.length === 0) return fail(toGrpcError(notEntitled(selectors)));
            await identities.ready(entries.map((e) => e.id));
            const response = await build(entries);
            if (response === undefined || closed) return;
            const bytes = Buffer.from(encode(response));
            if (last !== undefined && bytes.equals(last)) return;
            last = bytes;
            call.write(response);
          })
          .catch(fail);
      };
      entitled(call.metadata, method).then(() => {
        if (closed) return;
        stop = identities.onChange(push);
        push();
      }, fail);
    };
  };

  return {
    fetchX509Svid: stream<spiffeWorkload.X509SVIDRequest, spiffeWorkload.X509SVIDResponse>(
      'FetchX509SVID',
      async (entries) => {
        const bundle = identities.x509Bundle();
        const svids = entries.flatMap((entry) => {
          const svid = identities.svid(entry.id);
          return svid === undefined
            ? []
            : [
                {
                  spiffeId: svid.spiffeId,
                  x509Svid: svid.chainDer,
                  x509SvidKey: svid.keyDer,
                  bundle,
                  hint: '',
                },
              ];
        });
        return svids.length === 0 ? undefined : { svids, crl: [], federatedBundles: {} };
      },
      (res) => spiffeWorkload.X509SVIDResponse.encode(res).finish(),
    ),
    fetchX509Bundles: stream<spiffeWorkload.X509BundlesRequest, spiffeWorkload.X509BundlesResponse>(
      'FetchX509Bundles',
      async () => ({
        crl: [],
        bundles: { [trustDomainId(identities.trustDomain)]: identities.x509Bundle() },
      }),
      (res) => spiffeWorkload.X509BundlesResponse.encode(res).finish(),
    ),
    fetchJwtBundles: stream<spiffeWorkload.JWTBundlesRequest, spiffeWorkload.JWTBundlesResponse>(
      'FetchJWTBundles',
      async () => {
        const jwks = identities.jwtBundle();
        return jwks === undefined
          ? undefined
          : { bundles: { [trustDomainId(identities.trustDomain)]: Buffer.from(jwks) } };
      },
      (res) => spiffeWorkload.JWTBundlesResponse.encode(res).finish(),
    ),
    fetchJwtsvid(call, callback) {
      const { audience, spiffeId } = call.request;
      entitled(call.metadata, 'FetchJWTSVID')
        .then(async (entries) => {
          if (audience.length === 0 || audience.some((a) => a === ''))
            throw toGrpcError(
              new SigilError('ERR_REQUEST_INVALID', 'audience must be specified', {
                details: { field: 'audience' },
              }),
            );
          const chosen = spiffeId === '' ? entries : entries.filter((e) => e.spiffeId === spiffeId);
          if (chosen.length === 0)
            throw toGrpcError(
              new SigilError(
                'ERR_WORKLOAD_NOT_ENTITLED',
                `the caller is not entitled to ${spiffeId.slice(0, 200)}`,
                { details: { spiffeId } },
              ),
            );
          const svids = await Promise.all(
            chosen.map(async (entry) => ({
              spiffeId: entry.spiffeId,
              svid: await identities.jwtSvid(entry, audience),
              hint: '',
            })),
          );
          callback(null, { svids });
        })
        .catch((err: unknown) => callback(asStatus(err)));
    },
    validateJwtsvid(call, callback) {
      const { audience, svid } = call.request;
      entitled(call.metadata, 'ValidateJWTSVID')
        .then(async () => {
          if (audience === '' || svid === '')
            throw toGrpcError(
              new SigilError(
                'ERR_REQUEST_INVALID',
                `${audience === '' ? 'audience' : 'svid'} must be specified`,
                { details: { field: audience === '' ? 'audience' : 'svid' } },
              ),
            );
          const jwks = identities.jwtBundle();
          const validated = await validateJwtSvid(svid, {
            audience,
            bundle: (td) =>
              td === identities.trustDomain && jwks !== undefined ? JSON.parse(jwks) : undefined,
          });
          callback(null, { spiffeId: validated.spiffeId, claims: { ...validated.claims } });
        })
        .catch((err: unknown) => callback(asStatus(err)));
    },
  };
}
