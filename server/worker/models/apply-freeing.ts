// A training forward pass that frees each intermediate once no later layer reads it.
// tfjs-layers' executor frees intermediates only at inference: in training, every layer's output
// lives until the step's forward scope ends, so a ResNet's peak holds every BN output and every
// residual sum as well as what backprop needs. Backprop needs only what each op saved, and tfjs
// saves refcounted clones (engine.saveTensorsForBackwardMode), so disposing a layer's output
// after its last reader frees exactly the tensors no gradient uses. Same layers, same order,
// same results as `model.apply`; the peak falls to about PyTorch's (its refcounts do this).
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
  // Iterative depth-first post-order: a deep ResNet would overflow nothing, but keep it flat.
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
      for (const input of top.node.inputTensors) push(input);
      continue;
    }
    stack.pop();
    done.add(top.node);
    steps.push({ layer: top.layer, inputs: top.node.inputTensors, outputs: top.node.outputTensors });
    for (const input of top.node.inputTensors) readers.set(input.id, (readers.get(input.id) ?? 0) + 1);
  }
  const plan = { steps, readers };
  plans.set(model, plan);
  return plan;
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
  for (const step of plan.steps) {
    const args = step.inputs.map((s) => {
      const v = values.get(s.id);
      if (!v) throw new Error(`model ${model.name}: ${s.name} was not computed before its reader`);
      return v;
    });
    const produced = step.layer.apply(args, kwargs);
    const outs = Array.isArray(produced) ? produced : [produced];
    for (const [i, s] of step.outputs.entries()) values.set(s.id, outs[i]!);
    for (const s of step.inputs) {
      const n = (left.get(s.id) ?? 0) - 1;
      left.set(s.id, n);
      const v = values.get(s.id);
      // A layer may hand its input back as its output (an identity in this mode): keep that one.
      if (
        n > 0 ||
        keep.has(s.id) ||
        !v ||
        outs.includes(v) ||
        (s.sourceLayer as unknown as GraphLayer).stateful
      )
        continue;
      values.delete(s.id);
      v.dispose();
    }
  }
  const results = model.outputs.map((s) => values.get(s.id)!);
  return results.length === 1 ? results[0]! : results;
}
