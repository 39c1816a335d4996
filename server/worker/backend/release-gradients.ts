// tfjs keeps the gradient of every intermediate tensor until the whole backward pass ends
// (tape.ts never frees an output's gradient once its node has used it). For a ResNet that is
// as much memory again as the saved activations: 420 MB extra at ResNet20 / batch 128. This
// wraps Engine.gradients so that each node's output gradients are freed as soon as the node's
// input gradients exist — a node's outputs are consumed only by later nodes, which backprop has
// already visited, so those gradients are final and nothing reads them again. The node's saved
// activations go at the same moment, so memory falls as backprop walks back.
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  gradients(
    f: () => tf.Tensor,
    xs: tf.Tensor[],
    dy?: tf.Tensor,
    allowNoGradients?: boolean,
  ): { value: tf.Tensor; grads: tf.Tensor[] };
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

/** One backward pass: the node whose gradients were computed last, and what it handed on. */
interface Pass {
  keep: Set<number>;
  userDy: tf.Tensor | undefined;
  /** Times each tensor was returned as an input gradient; >1 means two map entries share it. */
  returned: Map<tf.Tensor, number>;
  previous:
    | { dys: tf.Tensor[]; handedOn: Set<tf.Tensor>; saved: tf.Tensor[]; scratch: tf.Tensor[] }
    | undefined;
}

function releasePrevious(pass: Pass): void {
  const prev = pass.previous;
  pass.previous = undefined;
  if (!prev) return;
  // Its saved tensors are refcounted clones (engine.saveTensorsForBackwardMode): releasing them
  // frees an activation once the last node that saved it is done. tfjs itself frees them all
  // only after the whole pass (disposing twice is a no-op).
  for (const t of [...prev.saved, ...prev.scratch]) if (!prev.handedOn.has(t)) t.dispose();
  for (const dy of prev.dys) {
    if (prev.handedOn.has(dy) || dy === pass.userDy || (pass.returned.get(dy) ?? 0) > 1) continue;
    dy.dispose();
  }
}

/** Tensors the running gradient function made for its thunks; undefined outside a wrapped node. */
let scratch: tf.Tensor[] | undefined;

/**
 * For a gradient function: `t` serves this node's thunks only, so free it with the node's output
 * gradients. Without early release (or outside it) tfjs' backward scope frees it at the end.
 */
export function releaseWithNode(t: tf.Tensor): void {
  scratch?.push(t);
}

/**
 * For a gradient function whose thunks may make such a tensor later (lazily): the function that
 * frees it with the node's output gradients; undefined without early release (tfjs' backward
 * scope then frees what the thunks make, so keep nothing).
 */
export function nodeReleaser(): ((t: tf.Tensor) => void) | undefined {
  const list = scratch;
  return list ? (t) => list.push(t) : undefined;
}

function wrapNode(node: TapeNode, pass: Pass): void {
  const inner = node.gradient;
  if (!inner) return;
  node.gradient = (dys) => {
    releasePrevious(pass);
    const made: tf.Tensor[] = [];
    scratch = made;
    let thunks: ReturnType<typeof inner>;
    try {
      thunks = inner(dys);
    } finally {
      scratch = undefined;
    }
    const handedOn = new Set<tf.Tensor>();
    const own = dys.filter(
      (dy, i): dy is tf.Tensor => dy !== null && !pass.keep.has(node.outputs[i]?.id ?? -1),
    );
    pass.previous = { dys: own, handedOn, saved: node.saved ?? [], scratch: made };
    const wrapped: Record<string, () => tf.Tensor> = {};
    for (const [name, thunk] of Object.entries(thunks)) {
      wrapped[name] = () => {
        const t = thunk();
        handedOn.add(t);
        pass.returned.set(t, (pass.returned.get(t) ?? 0) + 1);
        return t;
      };
    }
    return wrapped;
  };
}

let original: EngineInternals['gradients'] | undefined;

/** Turns the early release on or off on tfjs' engine (first-order gradients only). */
export function setGradientRelease(on: boolean): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (!on) {
    if (original) engine.gradients = original;
    original = undefined;
    return;
  }
  if (original) return;
  const stock = engine.gradients;
  original = stock;
  engine.gradients = (f, xs, dy, allowNoGradients) => {
    const pass: Pass = {
      keep: new Set(xs.map((x) => x.id)),
      userDy: dy,
      returned: new Map(),
      previous: undefined,
    };
    const recorded = () => {
      const y = f();
      // Depth 1: this is the outermost tape; nested (higher-order) gradients keep tfjs' behaviour.
      const tape = engine.state.activeTape;
      if (tape && engine.state.gradientDepth === 1) for (const node of tape) wrapNode(node, pass);
      return y;
    };
    return stock.call(engine, recorded, xs, dy, allowNoGradients);
  };
}
