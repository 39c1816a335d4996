// WGSL programs for pretext's fused kernels on tfjs' webgpu backend. tfjs builds the shader
// around getUserCode(): bindings (`result`, then one read-only array per variable name), the
// Uniforms struct (shapes, then `uniforms` below, in the order the kernel passes them) and
// setOutputAtIndex(). Every program here works on flat arrays: the kernels pass their inputs
// as 1-D views, so indexing is plain and channels are the innermost dimension (NHWC).

export interface Program {
  variableNames: readonly string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size: boolean;
  getUserCode(): string;
}

const FLAT_WORKGROUP = 128;
/** Threads that share one channel's reduction. */
export const REDUCE_WORKGROUP = 256;

function flat(n: number): Pick<Program, 'dispatchLayout' | 'dispatch' | 'workgroupSize' | 'size'> {
  return {
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(n / FLAT_WORKGROUP), 1, 1],
    workgroupSize: [FLAT_WORKGROUP, 1, 1],
    size: true,
  };
}

/**
 * One output of Adam's update (tfjs' formula): m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g²,
 * x' = x − lr·(m'/(1−β1ᵗ)) / (√(v'/(1−β2ᵗ)) + ε). WebGPU programs write one output each, so
 * the kernel runs this three times (x', m', v'): 3 dispatches instead of tfjs Adam's ~13.
 */
export function adamProgram(n: number, part: 'x' | 'm' | 'v'): Program {
  const code = {
    m: 'setOutputAtIndex(index, uniforms.beta1 * M[index] + (1.0 - uniforms.beta1) * g);',
    v: 'setOutputAtIndex(index, uniforms.beta2 * V[index] + (1.0 - uniforms.beta2) * g * g);',
    x: `let m = uniforms.beta1 * M[index] + (1.0 - uniforms.beta1) * g;
          let v = uniforms.beta2 * V[index] + (1.0 - uniforms.beta2) * g * g;
          let step = uniforms.lr * (m / (1.0 - B1[0])) / (sqrt(v / (1.0 - B2[0])) + uniforms.eps);
          setOutputAtIndex(index, X[index] - step);`,
  }[part];
  return {
    // Every binding must be used: Dawn drops unused ones from the pipeline's layout.
    variableNames: ADAM_INPUTS[part],
    outputShape: [n],
    shaderKey: `pretext_adam_${part}`,
    uniforms: 'lr : f32, beta1 : f32, beta2 : f32, eps : f32,',
    ...flat(n),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let g = G[index];
          ${code}
        }
      }`,
  };
}

/** The inputs each Adam program reads (of x, m, v, g, accBeta1, accBeta2). */
export const ADAM_INPUTS = {
  m: ['M', 'G'],
  v: ['V', 'G'],
  x: ['X', 'M', 'V', 'G', 'B1', 'B2'],
} as const;

/**
 * A per-channel sum over the rows of an [rows, channels] array, one workgroup per channel:
 * each thread sums a strided share of the rows, then the workgroup adds the partial sums as a
 * tree in shared memory. `term` is the summand for row j (X[j * C + k] and friends).
 */
function channelSumProgram(
  key: string,
  variableNames: string[],
  channels: number,
  term: string,
  finish: string,
): Program {
  const wg = REDUCE_WORKGROUP;
  return {
    variableNames,
    outputShape: [channels],
    shaderKey: `pretext_bn_${key}`,
    uniforms: 'channels : i32, rows : i32, eps : f32,',
    dispatchLayout: { x: [0] },
    dispatch: [channels, 1, 1],
    workgroupSize: [wg, 1, 1],
    size: true,
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${wg}>;
      fn main(index : i32) {
        let k = index / ${wg};
        let C = uniforms.channels;
        var acc = 0.0;
        if (k < C) {
          for (var j = i32(localId.x); j < uniforms.rows; j = j + ${wg}) {
            let i = j * C + k;
            acc = acc + ${term};
          }
        }
        partial[localId.x] = acc;
        workgroupBarrier();
        for (var width = ${wg / 2}u; width > 0u; width = width / 2u) {
          if (localId.x < width) {
            partial[localId.x] = partial[localId.x] + partial[localId.x + width];
          }
          workgroupBarrier();
        }
        if (localId.x == 0u && k < C) {
          let total = partial[0];
          setOutputAtIndex(k, ${finish});
        }
      }`,
  };
}

/** Batch mean per channel. */
export const meanProgram = (channels: number) =>
  channelSumProgram('mean', ['X'], channels, 'X[i]', 'total / f32(uniforms.rows)');

/** Biased batch variance per channel, two-pass (around the mean) for float32 accuracy. */
export const varianceProgram = (channels: number) =>
  channelSumProgram(
    'var',
    ['X', 'Mean'],
    channels,
    '(X[i] - Mean[k]) * (X[i] - Mean[k])',
    'total / f32(uniforms.rows)',
  );

/** dβ = Σ dy per channel. */
export const sumDyProgram = (channels: number) =>
  channelSumProgram('dbeta', ['DY'], channels, 'DY[i]', 'total');

/** dγ = Σ dy·x̂ per channel, x̂ = (x − μ)/√(σ² + ε). */
export const sumDyXhatProgram = (channels: number) =>
  channelSumProgram(
    'dgamma',
    ['DY', 'X', 'Mean', 'Var'],
    channels,
    'DY[i] * (X[i] - Mean[k])',
    'total * inverseSqrt(Var[k] + uniforms.eps)',
  );

/** y = γ·x̂ + β. */
export function normalizeProgram(n: number): Program {
  return {
    variableNames: ['X', 'Mean', 'Var', 'Scale', 'Offset'],
    outputShape: [n],
    shaderKey: 'pretext_bn_normalize',
    uniforms: 'channels : i32, eps : f32,',
    ...flat(n),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let k = index % uniforms.channels;
          let a = Scale[k] * inverseSqrt(Var[k] + uniforms.eps);
          setOutputAtIndex(index, (X[index] - Mean[k]) * a + Offset[k]);
        }
      }`,
  };
}

/** dx = γ/σ · (dy − dβ/M − x̂·dγ/M), the batch statistics' own dependence on x included. */
export function inputGradProgram(n: number): Program {
  return {
    variableNames: ['DY', 'X', 'Mean', 'Var', 'Scale', 'DScale', 'DOffset'],
    outputShape: [n],
    shaderKey: 'pretext_bn_dx',
    uniforms: 'channels : i32, rows : i32, eps : f32,',
    ...flat(n),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let k = index % uniforms.channels;
          let inv = inverseSqrt(Var[k] + uniforms.eps);
          let xhat = (X[index] - Mean[k]) * inv;
          let m = f32(uniforms.rows);
          setOutputAtIndex(index, Scale[k] * inv * (DY[index] - DOffset[k] / m - xhat * DScale[k] / m));
        }
      }`,
  };
}

/** A moving average's update, v ← v − (v − batch)·(1 − momentum): one dispatch instead of three. */
export function movingAverageProgram(n: number): Program {
  return {
    variableNames: ['Old', 'Value'],
    outputShape: [n],
    shaderKey: 'pretext_moving_average',
    uniforms: 'decay : f32,',
    ...flat(n),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, Old[index] - (Old[index] - Value[index]) * uniforms.decay);
        }
      }`,
  };
}
