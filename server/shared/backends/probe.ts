// Which TensorFlow.js backends this host can use, without loading tfjs: cheap and synchronous,
// so the daemon can answer GetServerInfo without pulling the engine into its process.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { probeNative } from './native-addon.js';
import { describeAdapter, probeWebgpuAdapter, webgpuPackagesMissing } from './webgpu-adapter.js';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu', 'webgpu'] as const;
/**
 * The order 'auto' tries. 'native' is wasm with pretext's oneDNN kernels (native/). 'webgpu'
 * comes after 'native' until a benchmark on a real GPU shows it faster (the README's figures);
 * it refuses software adapters, so on a host without a GPU auto goes on to wasm.
 */
export const AUTO_ORDER = ['tensorflow-gpu', 'tensorflow', 'native', 'webgpu', 'wasm', 'cpu'] as const;

export const require = createRequire(import.meta.url);

export const NODE_PACKAGES: Record<string, string> = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
};

function resolvePackage(pkg: string): string | undefined {
  try {
    return require.resolve(`${pkg}/package.json`);
  } catch {
    return undefined;
  }
}

/** Cheap, synchronous availability check (no tfjs initialisation) for GetServerInfo. */
export function probeBackends(): Array<{ name: string; available: boolean; reason: string }> {
  return BACKEND_NAMES.map((name) => {
    const [available, reason] = probeOne(name);
    return { name, available, reason };
  });
}

let adapterProbe: ReturnType<typeof probeWebgpuAdapter> | undefined;

/**
 * probeBackends() with the WebGPU adapter, found by a child process once per process (Dawn
 * never loads into the caller): webgpu is available only where an adapter it accepts exists.
 */
export async function probeBackendsWithAdapter(): Promise<
  Array<{ name: string; available: boolean; reason: string; detail: string }>
> {
  const probes = probeBackends().map((p) => ({ ...p, detail: '' }));
  const webgpu = probes.find((p) => p.name === 'webgpu');
  if (webgpu?.available) {
    adapterProbe ??= probeWebgpuAdapter();
    const { adapter, reason } = await adapterProbe;
    webgpu.available = adapter !== undefined && reason === '';
    webgpu.reason = reason;
    webgpu.detail = adapter ? describeAdapter(adapter) : '';
  }
  return probes;
}

export function probeOne(name: string): [boolean, string] {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = NODE_PACKAGES[name]!;
      const pj = resolvePackage(pkg);
      if (!pj)
        return [false, `${pkg} is not installed (optional dependency; its install downloads libtensorflow)`];
      // The native binding is fetched by the package's install script; without it the import fails.
      const libDir = path.join(path.dirname(pj), 'lib');
      const hasBinding = fs.existsSync(libDir) && findFile(libDir, 'tfjs_binding.node', 3);
      return hasBinding ? [true, ''] : [false, `${pkg} is installed but its native binding is missing`];
    }
    case 'native': {
      const [ok, reason] = probeNative();
      return ok ? probeOne('wasm') : [false, reason];
    }
    case 'wasm': {
      if (typeof (globalThis as { WebAssembly?: unknown }).WebAssembly !== 'object')
        return [false, 'this Node.js has no WebAssembly'];
      const pj = resolvePackage('@tensorflow/tfjs-backend-wasm');
      if (!pj) return [false, '@tensorflow/tfjs-backend-wasm is not installed'];
      return [true, ''];
    }
    case 'cpu':
      return [true, ''];
    case 'webgpu': {
      // Packages only: whether an adapter exists needs Dawn (probeBackendsWithAdapter).
      const missing = webgpuPackagesMissing();
      return missing ? [false, missing] : [true, ''];
    }
    default:
      return [false, `unknown backend "${name}"`];
  }
}

function findFile(dir: string, file: string, depth: number): boolean {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name === file) return true;
    if (entry.isDirectory() && depth > 0 && findFile(path.join(dir, entry.name), file, depth - 1))
      return true;
  }
  return false;
}
