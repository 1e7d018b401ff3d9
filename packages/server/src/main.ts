/** Entry point: `node --import tsx src/main.ts [command]`; without a command, serves. */
import { runCli } from './cli/tessera.js';

const code = await runCli(process.argv.slice(2));
if (code !== 0) {
  process.exitCode = code;
}
