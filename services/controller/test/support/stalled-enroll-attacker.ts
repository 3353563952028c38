// A hostile peer without credentials, run as its own process (its TLS work must not slow the
// healthy agent under test): keeps `STREAMS` Enroll streams open over `SESSIONS` connections from
// `LOCAL_ADDRESS`, each announcing a 4 MiB message and pushing it without ever ending, reopening
// whatever the controller closes, for `DURATION_MS`. Prints one JSON line: streams opened and ended.
import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';

const port = Number(process.env.PORT);
const ca = process.env.CA_PEM!;
const localAddress = process.env.LOCAL_ADDRESS!;
const sessionCount = Number(process.env.SESSIONS);
const perSession = Number(process.env.STREAMS) / sessionCount;
const deadline = Date.now() + Number(process.env.DURATION_MS);
const FOUR_MIB = 4 * 1024 * 1024;
const payload = Buffer.alloc(FOUR_MIB, 0x41);
const prefix = Buffer.alloc(5);
prefix.writeUInt32BE(FOUR_MIB, 1);
let opened = 0;
let ended = 0;
let live = 0;

function session(): ClientHttp2Session {
  const s = connectHttp2(`https://127.0.0.1:${port}`, {
    createConnection: () =>
      connectTls({
        socket: connectTcp({ host: '127.0.0.1', port, localAddress }),
        ca,
        servername: 'localhost',
        ALPNProtocols: ['h2'],
      }),
  });
  s.on('error', () => undefined);
  return s;
}

function stream(s: ClientHttp2Session, onClosed: () => void): void {
  if (s.destroyed || s.closed) return onClosed();
  let st;
  try {
    st = s.request({
      ':method': 'POST',
      ':path': '/sigil.controlplane.v1.EnrollmentService/Enroll',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
  } catch {
    return onClosed();
  }
  opened += 1;
  live += 1;
  st.on('error', () => undefined);
  st.on('close', () => {
    ended += 1;
    live -= 1;
    onClosed();
  });
  st.write(prefix);
  st.write(payload);
}

function keep(s: ClientHttp2Session): void {
  let pending = perSession;
  const again = (): void => {
    if (Date.now() > deadline) return;
    if (s.destroyed || s.closed) {
      pending -= 1;
      if (pending === 0) setTimeout(() => keep(session()), 50);
      return;
    }
    setTimeout(() => stream(s, again), 20);
  };
  for (let i = 0; i < perSession; i += 1) stream(s, again);
}

for (let i = 0; i < sessionCount; i += 1) keep(session());
const report = setInterval(() => {
  if (Date.now() <= deadline) return;
  clearInterval(report);
  process.stdout.write(`${JSON.stringify({ event: 'attack.done', opened, ended, live })}\n`);
  process.exit(0);
}, 100);
