// Reads jest's --json output and fails unless integration tests ran and none was skipped.
import { readFileSync } from 'node:fs';

const results = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const integration = results.testResults.filter((f) => f.name.includes('/test/integration/'));
const ran = integration.flatMap((f) => f.assertionResults).filter((a) => a.status === 'passed' || a.status === 'failed');
const skipped = results.numPendingTests + results.numTodoTests;
console.log(`tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed, ${skipped} skipped; integration: ${ran.length} ran in ${integration.length} files`);
if (ran.length === 0) {
  console.error('no integration test ran: the real stack was not exercised');
  process.exit(1);
}
if (skipped > 0) {
  console.error('some tests were skipped');
  process.exit(1);
}
if (!results.success) process.exit(1);
