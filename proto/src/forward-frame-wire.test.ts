import * as grpc from '@grpc/grpc-js';
import { decodeForwardFrame, encodeForwardFrame } from './forward-frame-wire';
import * as generated from './gen/sigil/controlplane/v1/controlplane';
import { controlplaneV1 } from './index';

// What the generated definition puts on the wire.
const generatedBytes = generated.ConnectorServiceService.forward.requestSerialize;

const dataFrame = (size: number): generated.ForwardFrame => ({
  body: { $case: 'data', data: Buffer.alloc(size, size % 251) },
});

/** A frame with its data as base64: large buffers compare fast as strings. */
const shape = (frame: generated.ForwardFrame): unknown =>
  frame.body?.$case === 'data' ? { data: frame.body.data.toString('base64') } : frame;

// Lengths around every varint boundary of the length prefix (1, 2, 3 and 4 bytes).
const SIZES = [0, 1, 127, 128, 16_383, 16_384, 65_536, 2_097_151, 2_097_152];

const OTHER_FRAMES: generated.ForwardFrame[] = [
  { body: { $case: 'open', open: { resource: 'pg-main', target: '10.0.0.5:5432' } } },
  { body: { $case: 'opened', opened: { dialled: '127.0.0.1:5432' } } },
  { body: { $case: 'eof', eof: {} } },
  { body: undefined },
];

describe('encodeForwardFrame', () => {
  it.each(SIZES)('writes a %i-byte data frame byte for byte as the generated codec', (size) => {
    expect(encodeForwardFrame(dataFrame(size)).equals(generatedBytes(dataFrame(size)))).toBe(true);
  });

  it.each(OTHER_FRAMES)('writes the other frames with the generated codec: %j', (frame) => {
    expect(encodeForwardFrame(frame).equals(generatedBytes(frame))).toBe(true);
  });
});

describe('decodeForwardFrame', () => {
  it.each(SIZES)('reads a %i-byte data frame as the generated codec does', (size) => {
    const bytes = generatedBytes(dataFrame(size));
    const frame = decodeForwardFrame(bytes);
    expect(frame.body?.$case).toBe('data');
    expect(shape(frame)).toEqual(shape(generated.ForwardFrame.decode(bytes)));
  });

  it('returns the data as a view of the message, without copying it', () => {
    const bytes = generatedBytes(dataFrame(70_000));
    const frame = decodeForwardFrame(bytes);
    if (frame.body?.$case !== 'data')
      throw new Error(`expected a data frame, got ${frame.body?.$case}`);
    expect(frame.body.data.buffer).toBe(bytes.buffer);
    expect(frame.body.data.byteOffset).toBe(bytes.byteOffset + 4);
  });

  it.each(OTHER_FRAMES)('reads the other frames with the generated codec: %j', (frame) => {
    expect(decodeForwardFrame(generatedBytes(frame))).toEqual(frame);
  });

  it('leaves a data field followed by another field to the generated codec (the last one wins)', () => {
    const bytes = Buffer.concat([
      generatedBytes(dataFrame(3)),
      generatedBytes({ body: { $case: 'eof', eof: {} } }),
    ]);
    expect(decodeForwardFrame(bytes)).toEqual({ body: { $case: 'eof', eof: {} } });
  });

  it.each([
    ['a length past the end', Buffer.from([0x12, 0x05, 1, 2])],
    ['a length prefix cut short', Buffer.from([0x12, 0x80])],
    ['a five-byte length prefix', Buffer.from([0x12, 0x80, 0x80, 0x80, 0x80, 0x01])],
  ])('fails on %s as the generated codec does', (_, bytes) => {
    expect(() => generated.ForwardFrame.decode(bytes)).toThrow();
    expect(() => decodeForwardFrame(bytes)).toThrow();
  });
});

describe('controlplaneV1.ConnectorService', () => {
  it('carries Forward on these functions and every other method as generated', () => {
    const service = controlplaneV1.ConnectorServiceDataPathService;
    expect(service.forward.requestSerialize).toBe(encodeForwardFrame);
    expect(service.forward.responseDeserialize).toBe(decodeForwardFrame);
    expect(service.forward.path).toBe('/sigil.controlplane.v1.ConnectorService/Forward');
    expect(service.tunnel).toBe(generated.ConnectorServiceService.tunnel);
  });

  it('speaks the generated wire format both ways over a real HTTP/2 connection', async () => {
    // The server decodes with the generated codec and echoes each frame back; the client is
    // ConnectorServiceDataPathClient (this codec), so each direction crosses the two codecs.
    const server = new grpc.Server();
    server.addService(generated.ConnectorServiceService, {
      tunnel: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
      forward: (call: grpc.ServerDuplexStream<generated.ForwardFrame, generated.ForwardFrame>) => {
        call.on('data', (frame: generated.ForwardFrame) => call.write(frame));
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    const client = new controlplaneV1.ConnectorServiceDataPathClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
    );
    try {
      const sent = [...SIZES.map(dataFrame), ...OTHER_FRAMES.slice(0, 3)];
      const call = client.forward();
      const received: generated.ForwardFrame[] = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (frame: generated.ForwardFrame) => received.push(frame));
        call.on('end', resolve);
        call.on('error', reject);
      });
      for (const frame of sent) call.write(frame);
      call.end();
      await done;
      expect(received.map(shape)).toEqual(sent.map(shape));
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
