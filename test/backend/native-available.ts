// Whether the native (oneDNN) backend's tests run here. CI builds the addon and sets
// PRETEXT_REQUIRE_NATIVE=1, so there a missing addon fails instead of skipping.
import { probeNative } from '../../server/shared/backends/native-addon.js';

const [available, reason] = probeNative();
export const NATIVE_REQUIRED = process.env.PRETEXT_REQUIRE_NATIVE === '1';
/** `skip` option for native suites: false, or why they are skipped. */
export const SKIP_NATIVE: false | string = available || NATIVE_REQUIRED ? false : reason;
/** The fast CPU backends to exercise: wasm always, native where built. */
export const FAST_BACKENDS: string[] = SKIP_NATIVE ? ['wasm'] : ['wasm', 'native'];
