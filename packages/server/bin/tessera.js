#!/usr/bin/env node
// The `tessera` command: runs the TypeScript sources through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/tessera.ts');
const code = await runCli(process.argv.slice(2));
if (code !== 0) {
  process.exitCode = code;
}
