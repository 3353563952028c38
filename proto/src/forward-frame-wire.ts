// The data path of ConnectorService.Forward: every tunneled byte crosses it as a ForwardFrame
// whose body is `data`. The generated codec copies such a frame three times on encode (into the
// writer's chunks, into the finished array, into a Buffer) and once on decode, and allocates a
// writer or reader per frame. These two functions write and read that one case directly (one
// copy on encode, none on decode) and leave every other frame, and every input they do not
// recognise, to the generated codec, so the wire format and the errors stay the generated ones.
import { makeGenericClientConstructor } from '@grpc/grpc-js';
import type {
  ConnectorServiceClient,
  ForwardFrame,
} from './gen/sigil/controlplane/v1/controlplane';
import { ConnectorServiceService } from './gen/sigil/controlplane/v1/controlplane';

/** The generated codec of Forward (both directions carry ForwardFrame), for every other case. */
const generated = ConnectorServiceService.forward;

/** Field 2 (`data`), wire type 2 (length-delimited): the tag byte of a data frame. */
const DATA_TAG = 0x12;
/** A varint of up to 4 bytes holds lengths below 2^28 (gRPC messages are far smaller). */
const MAX_LENGTH_BYTES = 4;

/**
 * Encodes a ForwardFrame to its protobuf bytes, byte for byte what `ForwardFrame.encode` writes.
 * A data frame is written in one allocation and one copy of its bytes.
 *
 * @example
 * ```ts
 * const bytes = encodeForwardFrame({ body: { $case: 'data', data: Buffer.from('hi') } }); // <12 02 68 69>
 * ```
 */
export function encodeForwardFrame(frame: ForwardFrame): Buffer {
  const body = frame.body;
  if (body?.$case !== 'data') return generated.requestSerialize(frame);
  const data = body.data;
  let length = data.length;
  let header = 2;
  while (length >= 0x80) {
    length >>>= 7;
    header += 1;
  }
  const out = Buffer.allocUnsafe(header + data.length);
  out[0] = DATA_TAG;
  let at = 1;
  length = data.length;
  while (length >= 0x80) {
    out[at++] = (length & 0x7f) | 0x80;
    length >>>= 7;
  }
  out[at++] = length;
  out.set(data, at);
  return out;
}

/**
 * Decodes ForwardFrame bytes, as `ForwardFrame.decode` does. A frame that holds exactly one
 * `data` field comes back as a view of `bytes` (no copy: gRPC hands each message over in a buffer
 * of its own); anything else goes to the generated decoder, whose result and errors it returns.
 *
 * @example
 * ```ts
 * const frame = decodeForwardFrame(Buffer.from([0x12, 0x02, 0x68, 0x69])); // { body: { $case: 'data', data: <68 69> } }
 * ```
 */
export function decodeForwardFrame(bytes: Buffer): ForwardFrame {
  if (bytes.length >= 2 && bytes[0] === DATA_TAG) {
    let length = 0;
    let at = 1;
    for (let shift = 0; at < bytes.length && at <= MAX_LENGTH_BYTES; shift += 7) {
      const byte = bytes.readUInt8(at++);
      length |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        if (at + length === bytes.length)
          return { body: { $case: 'data', data: bytes.subarray(at) } };
        break;
      }
    }
  }
  return generated.requestDeserialize(bytes);
}

/**
 * `ConnectorServiceService` with its Forward method on `encodeForwardFrame` and
 * `decodeForwardFrame`; every other method, and the bytes on the wire, are the generated ones, so
 * either side may use the generated definition.
 *
 * @example
 * ```ts
 * server.addService(controlplaneV1.ConnectorServiceDataPathService, implementation);
 * ```
 */
export const ConnectorServiceDataPathService: typeof ConnectorServiceService = {
  ...ConnectorServiceService,
  forward: {
    ...ConnectorServiceService.forward,
    requestSerialize: encodeForwardFrame,
    requestDeserialize: decodeForwardFrame,
    responseSerialize: encodeForwardFrame,
    responseDeserialize: decodeForwardFrame,
  },
};

/**
 * The client of `ConnectorServiceDataPathService`: a `ConnectorServiceClient` whose Forward calls
 * use the data-path codec.
 *
 * @example
 * ```ts
 * const client = new controlplaneV1.ConnectorServiceDataPathClient(address, credentials);
 * ```
 */
export const ConnectorServiceDataPathClient = makeGenericClientConstructor(
  ConnectorServiceDataPathService,
  'sigil.controlplane.v1.ConnectorService',
) as unknown as typeof ConnectorServiceClient;
