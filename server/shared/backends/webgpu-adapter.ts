// The webgpu backend's adapter, without loading tfjs or Dawn into the caller: the daemon asks
// a short child process (webgpu-adapter-main.ts) which adapter Dawn finds, for `pretext info`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export interface WebgpuAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software (fallback) adapter, e.g. lavapipe or SwiftShader. */
  fallback: boolean;
}

/** "nvidia hopper NVIDIA H200 (…)" — vendor, architecture, device, then the driver's description. */
export function describeAdapter(a: WebgpuAdapter): string {
  const head = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
  const tail = [a.description, a.fallback ? 'software' : ''].filter(Boolean).join(', ');
  return tail ? `${head} (${tail})` : head;
}

/** Why the webgpu packages cannot load here, or '' when they can (cheap, synchronous). */
export function webgpuPackagesMissing(): string {
  for (const pkg of ['@tensorflow/tfjs-backend-webgpu', 'webgpu']) {
    try {
      require.resolve(`${pkg}/package.json`);
    } catch {
      return `${pkg} is not installed (optional dependency)`;
    }
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const binary = path.join(
    path.dirname(require.resolve('webgpu/package.json')),
    'dist',
    `${process.platform}-${arch}`,
    'dawn.node',
  );
  return fs.existsSync(binary) ? '' : `the webgpu package has no Dawn binary for ${process.platform}-${arch}`;
}

/**
 * Loads the Vulkan loader named by PRETEXT_VULKAN_LOADER (a libvulkan.so.1 outside the system's
 * library path, e.g. the one scripts/fetch-lavapipe.sh unpacks) before Dawn looks for it: once a
 * library with that soname is loaded, Dawn's dlopen("libvulkan.so.1") finds it. process.dlopen
 * rejects it as "not a Node addon" after loading it; RTLD_NODELETE keeps it loaded.
 */
export function preloadVulkanLoader(): void {
  const loader = process.env.PRETEXT_VULKAN_LOADER;
  if (!loader || process.platform !== 'linux') return;
  if (!fs.existsSync(loader)) throw new Error(`PRETEXT_VULKAN_LOADER=${loader.slice(0, 80)} does not exist`);
  const RTLD_NODELETE = 0x1000; // glibc; Node does not export it
  try {
    process.dlopen({ exports: {} }, loader, 0x2 | 0x100 | RTLD_NODELETE); // RTLD_NOW | RTLD_GLOBAL
  } catch (err) {
    if (!String(err).includes('did not self-register')) throw err;
  }
}

const ADAPTER_MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'webgpu-adapter-main.ts');

/**
 * The adapter Dawn finds on this host, asked of a child process (Dawn and its Vulkan driver stay
 * out of the caller); undefined with the reason when there is none.
 */
export async function probeWebgpuAdapter(
  timeoutMs = 20_000,
): Promise<{ adapter?: WebgpuAdapter; reason: string }> {
  const missing = webgpuPackagesMissing();
  if (missing) return { reason: missing };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), ADAPTER_MAIN],
      { timeout: timeoutMs, encoding: 'utf8' },
      (err, stdout) => {
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          const parsed = JSON.parse(line) as { adapter?: WebgpuAdapter; reason?: string };
          resolve({ adapter: parsed.adapter, reason: parsed.reason ?? '' });
        } catch {
          resolve({ reason: `the adapter probe failed: ${(err?.message ?? line).slice(0, 120)}` });
        }
      },
    );
  });
}
