// Adam as one kernel per variable on the cpu and wasm backends. tfjs' AdamOptimizer runs ~13
// small ops per variable per step (≈1,000 for a ResNet20): at batch 32 that dispatch was 13 % of
// a step. The update, state and checkpoint format are tfjs' own: this subclass only replaces how
// applyGradients computes them, and falls back to it on other backends.
import * as tf from '@tensorflow/tfjs';
import { type KernelMemory, memoryOf } from './kernel-memory.js';

export const ADAM_UPDATE = 'PretextAdamUpdate';
const BACKENDS = ['cpu', 'wasm'] as const;

type Info = tf.TensorInfo;

export interface AdamAttrs {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** m' = β1·m + (1−β1)·g; v' = β2·v + (1−β2)·g²; x' = x − lr·(m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε). */
function update(mem: KernelMemory, inputs: Record<string, Info>, a: AdamAttrs): Info[] {
  const { x, m, v, g, accBeta1, accBeta2 } = inputs as Record<
    'x' | 'm' | 'v' | 'g' | 'accBeta1' | 'accBeta2',
    Info
  >;
  const outX = mem.alloc(x.shape);
  const outM = mem.alloc(x.shape);
  const outV = mem.alloc(x.shape);
  const [xs, ms, vs, gs, nx, nm, nv] = [x, m, v, g, outX, outM, outV].map((i) =>
    mem.view(i),
  ) as Float32Array[];
  const c1 = 1 - mem.read(accBeta1)[0]!;
  const c2 = 1 - mem.read(accBeta2)[0]!;
  const { learningRate: lr, beta1: b1, beta2: b2, epsilon: eps } = a;
  for (let i = 0; i < xs!.length; i++) {
    const gi = gs![i]!;
    const mi = b1 * ms![i]! + (1 - b1) * gi;
    const vi = b2 * vs![i]! + (1 - b2) * gi * gi;
    nm![i] = mi;
    nv![i] = vi;
    nx![i] = xs![i]! - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
  }
  return [outX, outM, outV];
}

let registered = false;

/** The JS kernels (cpu, wasm); before the native backend's, which replaces wasm's. */
export function registerFusedAdam(): void {
  if (registered) return;
  registered = true;
  for (const backendName of BACKENDS) {
    tf.registerKernel({
      kernelName: ADAM_UPDATE,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) =>
        update(
          memoryOf(backendName, backend as tf.KernelBackend),
          inputs as Record<string, Info>,
          attrs as unknown as AdamAttrs,
        ),
    });
  }
}

interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    const entries: Array<[string, tf.Tensor | undefined]> = Array.isArray(variableGradients)
      ? variableGradients.map((v) => [v.name, v.tensor])
      : Object.entries(variableGradients);
    const fusable =
      tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined &&
      entries.every(([name]) => tf.engine().registeredVariables[name]?.dtype === 'float32');
    if (!fusable) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    tf.tidy(() => {
      const attrs = {
        learningRate: self.learningRate,
        beta1: self.beta1,
        beta2: self.beta2,
        epsilon: self.epsilon,
      };
      entries.forEach(([name, gradient], i) => {
        const value = tf.engine().registeredVariables[name]!;
        // Same slot variables, names and creation order as tfjs' Adam: checkpoints stay compatible.
        self.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        self.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [x2, m2, v2] = tf.engine().runKernel(
          ADAM_UPDATE,
          {
            x: value,
            m,
            v,
            g: gradient,
            accBeta1: self.accBeta1,
            accBeta2: self.accBeta2,
          } as unknown as tf.NamedTensorMap,
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        m.assign(m2!);
        v.assign(v2!);
        value.assign(x2!);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }

  /**
   * tfjs restores accBeta as pow(beta, iterations + 1), which can differ in the last bit from the
   * product the steps built (one float32 multiply a step), and then a resumed run drifts from the
   * run that never stopped (by an ulp, on its smallest weights). Rebuilt here the way the steps
   * build it.
   */
  override async setWeights(weightValues: Parameters<tf.AdamOptimizer['setWeights']>[0]): Promise<void> {
    await super.setWeights(weightValues);
    const self = this as unknown as AdamInternals & { iterations_: number };
    tf.tidy(() => {
      self.accBeta1.assign(tf.scalar(accumulatedPower(self.beta1, self.iterations_ + 1)));
      self.accBeta2.assign(tf.scalar(accumulatedPower(self.beta2, self.iterations_ + 1)));
    });
  }
}

/** beta^n as n − 1 float32 multiplies from beta: the bits of the steps' tf.mul(accBeta, beta). */
export function accumulatedPower(beta: number, n: number): number {
  const b = Math.fround(beta);
  let a = b;
  for (let i = 1; i < n; i++) a = Math.fround(a * b);
  return a;
}

/** tf.train.adam with the fused update where the backend has it. */
export function createAdam(
  learningRate: number,
  beta1 = 0.9,
  beta2 = 0.999,
  epsilon?: number,
): tf.AdamOptimizer {
  registerFusedAdam();
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon as number);
}
