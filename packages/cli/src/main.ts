// Entry point of the `sigil` executable (bin/sigil.js): all logic lives in runCli.
import { runCli } from './cli';
import { processIo } from './io';

void runCli(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
