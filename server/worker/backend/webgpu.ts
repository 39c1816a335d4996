// The webgpu backend: tfjs-backend-webgpu on Dawn (the npm package `webgpu`, its prebuilt
// binary inside the package), a GPU path that installs from npm. Dawn's globals and
// navigator.gpu must exist before tfjs-backend-webgpu is imported (it registers itself only
// then), and pretext registers the backend's factory itself so that the adapter it checks and
// records is the one tfjs uses.
import * as tf from '@tensorflow/tfjs';
import {
  describeAdapter,
  preloadVulkanLoader,
  type WebgpuAdapter,
} from '../../shared/backends/webgpu-adapter.js';

interface DawnAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

let gpu: GPU | undefined;
let adapter: WebgpuAdapter | undefined;

/** Dawn's navigator.gpu, created once per process (Dawn's globals installed on globalThis). */
export async function dawnGpu(): Promise<GPU> {
  if (gpu) return gpu;
  preloadVulkanLoader();
  const dawn = (await import('webgpu')) as unknown as {
    create(options: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, dawn.globals);
  const created = dawn.create([]);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) g.navigator = {};
  // Node ≥ 21 has a navigator without gpu: define it there too.
  Object.defineProperty(g.navigator, 'gpu', { value: created, configurable: true });
  gpu = created;
  return created;
}

function summary(info: DawnAdapterInfo): WebgpuAdapter {
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    fallback: info.isFallbackAdapter === true,
  };
}

/** The adapter the backend runs on, once started. */
export function webgpuAdapter(): WebgpuAdapter | undefined {
  return adapter;
}

/**
 * Starts tfjs' webgpu backend on the high-performance adapter. A fallback (software) adapter
 * is refused unless PRETEXT_WEBGPU_ALLOW_FALLBACK=1: training on it is slower than any CPU backend.
 */
export async function startWebgpu(): Promise<WebgpuAdapter> {
  if (adapter && tf.findBackend('webgpu')) {
    await tf.setBackend('webgpu');
    return adapter;
  }
  const navigatorGpu = await dawnGpu();
  const found = await navigatorGpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!found) throw new Error('no WebGPU adapter (no Vulkan driver found: see VK_ICD_FILENAMES)');
  const info = summary(found.info as unknown as DawnAdapterInfo);
  if (info.fallback && process.env.PRETEXT_WEBGPU_ALLOW_FALLBACK !== '1')
    throw new Error(
      `the only WebGPU adapter is a software one (${describeAdapter(info)}); set PRETEXT_WEBGPU_ALLOW_FALLBACK=1 to use it`,
    );
  const webgpu = await import('@tensorflow/tfjs-backend-webgpu');
  // Replace the package's own factory (which requests its own adapter) with one on this adapter.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const limits = found.limits;
      const features = ['timestamp-query'].filter((f) => found.features.has(f)) as GPUFeatureName[];
      const device = await found.requestDevice({
        requiredFeatures: features,
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new webgpu.WebGPUBackend(device, found.info);
    },
    3,
  );
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  adapter = info;
  return info;
}
