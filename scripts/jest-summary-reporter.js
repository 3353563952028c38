// Prints one plain closing line, "tests: N passed, N failed[, N skipped]", as the very last line of
// a Jest run (after Jest's own summary), so scripts and CI can read the outcome without parsing
// Jest's layout. Jest's summary is printed after every reporter's onRunComplete, hence the exit hook.
const fs = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const tail = skipped > 0 ? `, ${skipped} skipped` : '';
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed${tail}\n`;
    process.once('exit', () => fs.writeSync(2, line));
  }
}
module.exports = SummaryReporter;
