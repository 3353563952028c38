import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runAgentCli } from '@sigil/agent';
import { startTunnelerPart } from './tunneler';

const { version } = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'),
) as { version: string };

runAgentCli({ kind: 'tunneler', version, start: startTunnelerPart });
