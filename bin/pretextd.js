#!/usr/bin/env node
// Launcher: run the TypeScript daemon through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../server/daemon/main.ts');
