// Child process of probeWebgpuAdapter(): prints the adapter Dawn finds as one JSON line, so
// that Dawn and its Vulkan driver never load into the daemon.
import { preloadVulkanLoader, type WebgpuAdapter } from './webgpu-adapter.js';

async function main(): Promise<{ adapter?: WebgpuAdapter; reason?: string }> {
  preloadVulkanLoader();
  const { create, globals } = (await import('webgpu')) as unknown as {
    create(options: string[]): GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  const found = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!found) return { reason: 'no WebGPU adapter (no Vulkan driver found)' };
  const i = found.info as unknown as WebgpuAdapter & { isFallbackAdapter?: boolean };
  const adapter = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    fallback: i.isFallbackAdapter === true,
  };
  const reason =
    adapter.fallback && process.env.PRETEXT_WEBGPU_ALLOW_FALLBACK !== '1'
      ? 'only a software adapter (set PRETEXT_WEBGPU_ALLOW_FALLBACK=1 to use it)'
      : '';
  return { adapter, reason };
}

main().then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0); // Dawn's instance keeps the event loop alive
  },
  (err) => {
    process.stdout.write(`${JSON.stringify({ reason: String(err?.message ?? err).slice(0, 200) })}\n`);
    process.exit(0);
  },
);
