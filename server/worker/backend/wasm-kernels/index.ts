// pretext's kernels for the wasm backend: what stock tfjs-wasm lacks or does slowly.
import * as tf from '@tensorflow/tfjs';
import { makeAvgPoolGradConfig } from './activation-grads.js';
import { installBatchNormGrad } from './batchnorm-grad.js';
import { makeBatchNormInferenceConfig } from './batchnorm-infer.js';
import { makeChannelSumConfig } from './channel-sum.js';
import { makeConvBackpropConfigs, makeFusedConvConfig } from './conv-backprop.js';
import { makeIdentityConfig } from './identity.js';
import { makeSimdBatchNormConfigs } from './simd-kernels.js';
import { simdEnabled } from './simd-pool.js';
import { replaceWasmKernel } from './util.js';

let registered = false;

/** Registers the kernels for the 'wasm' backend (idempotent); call before tf.setBackend('wasm'). */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  installBatchNormGrad();
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  const stockBatchNorm = tf.getKernel('FusedBatchNorm', 'wasm');
  for (const config of [
    ...makeConvBackpropConfigs(stockInput),
    makeBatchNormInferenceConfig(stockBatchNorm),
    makeIdentityConfig(tf.getKernel('Identity', 'wasm')),
    makeAvgPoolGradConfig(tf.getKernel('AvgPoolGrad', 'wasm')),
    makeChannelSumConfig(tf.getKernel('Sum', 'wasm')),
    // PRETEXT_WASM_SIMD=0: tfjs' and the JS kernels only (no BN + ReLU kernel on wasm then).
    ...(simdEnabled()
      ? [...makeSimdBatchNormConfigs(), makeFusedConvConfig(tf.getKernel('FusedConv2D', 'wasm'))]
      : []),
  ])
    replaceWasmKernel(config);
}
