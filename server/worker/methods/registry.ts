// Method implementations by catalog name. A method is one file here, `<name>.ts`, exporting
// `create`, plus its entry in server/shared/contract/methods.ts (defaults, checks, evaluation).
import { mustMethod } from '../../shared/contract/methods.js';
import type { MethodFactory } from './base.js';

export async function loadMethod(name: string): Promise<MethodFactory> {
  const entry = mustMethod(name);
  const mod = (await import(`./${entry.name}.js`)) as { create?: MethodFactory };
  if (typeof mod.create !== 'function') {
    throw new Error(`server/worker/methods/${entry.name}.ts does not export create()`);
  }
  return mod.create;
}
