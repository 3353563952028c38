import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runAgentCli } from '@sigil/agent';
import { startConnectorPart } from './connector';

const { version } = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'),
) as { version: string };

runAgentCli({ kind: 'connector', version, start: startConnectorPart });
