#!/usr/bin/env node
// Launcher of the `pretext` CLI: TypeScript sources run through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Exit even if a library left a handle open, but let piped stdout drain first.
setTimeout(() => process.exit(code), 200).unref();
