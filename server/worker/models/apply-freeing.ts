// A training forward pass that frees each intermediate once no later layer reads it.
// tfjs-layers' executor frees intermediates only at inference: in training, every layer's output
// lives until the step's forward scope ends, so a ResNet's peak holds every BN output and every
// residual sum as well as what backprop needs. Backprop needs only what each op saved, and tfjs
// saves refcounted clones (engine.saveTensorsForBackwardMode), so disposing a layer's output
// after its last reader frees exactly the tensors no gradient uses. Same layers, same order,
// same results as `model.apply`; the peak falls to about PyTorch's (its refcounts do this).
// It also fuses what it sees in the graph: BatchNormalization → ReLU and BatchNormalization →
// Add → ReLU run as one kernel (batch-norm.ts callRelu) where nothing else reads the
// intermediates, so neither the BN output nor the sum is ever made (one pass instead of three).
import type * as tf from '@tensorflow/tfjs';

type Kwargs = Record<string, unknown>;

/** What this reads of tfjs-layers' graph (public fields, not in its typings' LayersModel). */
interface LayerNode {
  inputTensors: tf.SymbolicTensor[];
  outputTensors: tf.SymbolicTensor[];
}
interface GraphLayer {
  inboundNodes: LayerNode[];
  stateful?: boolean;
  apply(inputs: tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[];
  getClassName(): string;
  /** FastBatchNormalization's fused training path. */
  callRelu?(input: tf.Tensor, residual?: tf.Tensor): tf.Tensor | undefined;
  activation?: { getClassName(): string };
}

/** BN → ReLU, or BN → Add(residual) → ReLU: run at the BN step, the later steps skipped. */
interface Fusion {
  skip: Step[];
  /** The Add's other input. */
  residual?: tf.SymbolicTensor;
  /** The ReLU's output: what the fused kernel produces. */
  output: tf.SymbolicTensor;
}

interface Step {
  layer: GraphLayer;
  inputs: tf.SymbolicTensor[];
  outputs: tf.SymbolicTensor[];
}

interface Plan {
  steps: Step[];
  /** Reads of each symbolic tensor (by id) by later steps. */
  readers: Map<number, number>;
  fusions: Map<Step, Fusion>;
}

const plans = new WeakMap<tf.LayersModel, Plan>();

function nodeOf(s: tf.SymbolicTensor): LayerNode {
  const node = (s.sourceLayer as unknown as GraphLayer).inboundNodes[s.nodeIndex];
  if (!node) throw new Error(`layer ${s.sourceLayer.name}: no node ${s.nodeIndex}`);
  return node;
}

/** The model's nodes in an order where every input is computed before its readers. */
function planOf(model: tf.LayersModel): Plan {
  const cached = plans.get(model);
  if (cached) return cached;
  const fed = new Set(model.inputs.map((s) => s.id));
  const done = new Set<LayerNode>();
  const steps: Step[] = [];
  const readers = new Map<number, number>();
  // Depth-first post-order, iterative so that no depth of network can overflow the call stack.
  const stack: Array<{ node: LayerNode; layer: GraphLayer; expanded: boolean }> = [];
  const push = (s: tf.SymbolicTensor) => {
    if (fed.has(s.id)) return;
    const node = nodeOf(s);
    if (!done.has(node)) stack.push({ node, layer: s.sourceLayer as unknown as GraphLayer, expanded: false });
  };
  for (const out of model.outputs) push(out);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (done.has(top.node)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      // Reversed, so that a node's inputs are computed in their order: a ResNet's Add([shortcut,
      // y]) gets its shortcut before the BN that may fuse with it.
      for (const input of [...top.node.inputTensors].reverse()) push(input);
      continue;
    }
    stack.pop();
    done.add(top.node);
    steps.push({ layer: top.layer, inputs: top.node.inputTensors, outputs: top.node.outputTensors });
    for (const input of top.node.inputTensors) readers.set(input.id, (readers.get(input.id) ?? 0) + 1);
  }
  const plan = { steps, readers, fusions: findFusions(model, steps, readers) };
  plans.set(model, plan);
  return plan;
}

const isRelu = (l: GraphLayer) =>
  l.getClassName() === 'Activation' && l.activation?.getClassName() === 'relu';

function findFusions(model: tf.LayersModel, steps: Step[], readers: Map<number, number>): Map<Step, Fusion> {
  const outputs = new Set(model.outputs.map((s) => s.id));
  const readerOf = new Map<number, Step>();
  for (const step of steps) for (const input of step.inputs) readerOf.set(input.id, step);
  // The one step reading `s`, if only one does and `s` is not a model output.
  const soleReader = (s: tf.SymbolicTensor | undefined) =>
    s && readers.get(s.id) === 1 && !outputs.has(s.id) ? readerOf.get(s.id) : undefined;
  const fusions = new Map<Step, Fusion>();
  for (const step of steps) {
    if (!step.layer.callRelu || step.inputs.length !== 1 || step.outputs.length !== 1) continue;
    const bnOut = step.outputs[0]!;
    const next = soleReader(bnOut);
    if (!next) continue;
    if (isRelu(next.layer)) {
      fusions.set(step, { skip: [next], output: next.outputs[0]! });
      continue;
    }
    if (next.layer.getClassName() !== 'Add' || next.inputs.length !== 2) continue;
    const relu = soleReader(next.outputs[0]);
    const residual = next.inputs.find((s) => s.id !== bnOut.id);
    if (relu && isRelu(relu.layer) && residual)
      fusions.set(step, { skip: [next, relu], residual, output: relu.outputs[0]! });
  }
  return fusions;
}

/**
 * `model.apply(inputs, kwargs)` for training, freeing intermediates as soon as they are read for
 * the last time. Without `training: true` it is `model.apply` itself (which frees already).
 */
export function applyFreeing(
  model: tf.LayersModel,
  inputs: tf.Tensor | tf.Tensor[],
  kwargs: Kwargs = {},
): tf.Tensor | tf.Tensor[] {
  if (!kwargs.training) return model.apply(inputs, kwargs) as tf.Tensor | tf.Tensor[];
  const given = Array.isArray(inputs) ? inputs : [inputs];
  if (given.length !== model.inputs.length)
    throw new Error(`model ${model.name} takes ${model.inputs.length} inputs, got ${given.length}`);
  const plan = planOf(model);
  const values = new Map<number, tf.Tensor>();
  for (const [i, s] of model.inputs.entries()) values.set(s.id, given[i]!);
  const keep = new Set([...model.inputs, ...model.outputs].map((s) => s.id));
  const left = new Map(plan.readers);
  const skipped = new Set<Step>();
  // One read of `s` done: free it after its last (unless a layer handed it back as an output).
  const consumed = (s: tf.SymbolicTensor, outs: tf.Tensor[]) => {
    const n = (left.get(s.id) ?? 0) - 1;
    left.set(s.id, n);
    const v = values.get(s.id);
    if (
      n > 0 ||
      keep.has(s.id) ||
      !v ||
      outs.includes(v) ||
      (s.sourceLayer as unknown as GraphLayer).stateful
    )
      return;
    values.delete(s.id);
    v.dispose();
  };
  const computed = (s: tf.SymbolicTensor) => {
    const v = values.get(s.id);
    if (!v) throw new Error(`model ${model.name}: ${s.name} was not computed before its reader`);
    return v;
  };
  for (const step of plan.steps) {
    if (skipped.has(step)) continue;
    const fusion = plan.fusions.get(step);
    const residual = fusion?.residual ? values.get(fusion.residual.id) : undefined;
    // Fused only when the residual is there already (else the layers run one by one).
    const y =
      fusion && (residual || !fusion.residual)
        ? step.layer.callRelu!(computed(step.inputs[0]!), residual)
        : undefined;
    if (fusion && y) {
      values.set(fusion.output.id, y);
      for (const s of fusion.skip) skipped.add(s);
      consumed(step.inputs[0]!, [y]);
      if (fusion.residual) consumed(fusion.residual, [y]);
      continue;
    }
    const produced = step.layer.apply(step.inputs.map(computed), kwargs);
    const outs = Array.isArray(produced) ? produced : [produced];
    for (const [i, s] of step.outputs.entries()) values.set(s.id, outs[i]!);
    for (const s of step.inputs) consumed(s, outs);
  }
  const results = model.outputs.map((s) => values.get(s.id)!);
  return results.length === 1 ? results[0]! : results;
}
