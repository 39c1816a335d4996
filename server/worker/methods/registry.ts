// Methods by name. Pretext methods and the downstream method are looked up here by the job
// table; the contrastive methods join as new files plus one line each.
import type { MethodFactory } from './base.js';
import { createNnclr } from './nnclr.js';
import { createRotation } from './rotation.js';
import { createSimclr } from './simclr.js';
import { createSimsiam } from './simsiam.js';
import { createSupervised } from './supervised.js';

export type MethodRole = 'pretext' | 'downstream';

export interface MethodEntry {
  role: MethodRole;
  create: MethodFactory;
}

const methods = new Map<string, MethodEntry>([
  ['rotation', { role: 'pretext', create: createRotation }],
  ['simclr', { role: 'pretext', create: createSimclr }],
  ['simsiam', { role: 'pretext', create: createSimsiam }],
  ['nnclr', { role: 'pretext', create: createNnclr }],
  ['supervised', { role: 'downstream', create: createSupervised }],
]);

export function registerMethod(name: string, entry: MethodEntry): void {
  if (methods.has(name)) throw new Error(`method "${name}" is already registered`);
  methods.set(name, entry);
}

export function getMethod(name: string): MethodEntry {
  const m = methods.get(name);
  if (!m) throw new Error(`unknown method "${name}" (known: ${[...methods.keys()].join(', ')})`);
  return m;
}

export function methodNames(role?: MethodRole): string[] {
  return [...methods].filter(([, m]) => !role || m.role === role).map(([name]) => name);
}
