// Whether the webgpu backend's tests run here, and on which adapter. Without a GPU they run on
// lavapipe (Mesa's software Vulkan), which scripts/fetch-lavapipe.sh unpacks into
// $PRETEXT_LAVAPIPE_DIR (default .cache/lavapipe): this selects it (VK_ICD_FILENAMES, the Vulkan
// loader) and allows software adapters, for this test process only. CI (CI=true) fetches it and
// fails instead of skipping when no adapter can be found; elsewhere the suites skip, saying why.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAdapter, probeWebgpuAdapter } from '../../server/shared/backends/webgpu-adapter.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const LAVAPIPE_DIR = process.env.PRETEXT_LAVAPIPE_DIR || path.join(root, '.cache/lavapipe');

const icd = path.join(LAVAPIPE_DIR, 'lvp_icd.json');
if (!process.env.VK_ICD_FILENAMES && fs.existsSync(icd)) {
  process.env.VK_ICD_FILENAMES = icd;
  process.env.PRETEXT_VULKAN_LOADER ??= path.join(LAVAPIPE_DIR, 'libvulkan.so.1');
}
process.env.PRETEXT_WEBGPU_ALLOW_FALLBACK = '1';

export const WEBGPU_REQUIRED = process.env.CI === 'true' || process.env.PRETEXT_REQUIRE_WEBGPU === '1';
const probe = await probeWebgpuAdapter();
/** The adapter the tests run on, described ('mesa software llvmpipe… (…, software)'). */
export const ADAPTER = probe.adapter ? describeAdapter(probe.adapter) : '';
/** `skip` option for webgpu suites: false, or why they are skipped. */
export const SKIP_WEBGPU: false | string =
  probe.adapter || WEBGPU_REQUIRED
    ? false
    : `no WebGPU adapter (${probe.reason}); run scripts/fetch-lavapipe.sh for the software one`;
