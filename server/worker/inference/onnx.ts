// A tfjs LayersModel (pretext's backbones and heads) as an ONNX graph, written through the
// onnx.proto schema (onnx-proto). The graph takes NHWC input like the tfjs model, transposes once
// to NCHW for the convolutions, and flattens in NHWC order so Dense weights keep their meaning.
// Layers supported: InputLayer, Conv2D, BatchNormalization, Activation, Add, AveragePooling2D,
// MaxPooling2D, Flatten, Dense — what ResNet v1 and small_conv are made of.
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import { ONNX_OPSET } from '../../shared/contract/models-out.js';

const { onnx } = onnxProto;
type INode = import('onnx-proto').onnx.INodeProto;
type ITensor = import('onnx-proto').onnx.ITensorProto;
type IAttr = import('onnx-proto').onnx.IAttributeProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const A = onnx.AttributeProto.AttributeType;

interface SymbolicLike {
  id: number;
  shape: Array<number | null>;
}
interface NodeLike {
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}
type Layout = 'nchw' | 'flat';

const ints = (name: string, v: number[]): IAttr => ({ name, type: A.INTS, ints: v });
const int = (name: string, v: number): IAttr => ({ name, type: A.INT, i: v });
const float = (name: string, v: number): IAttr => ({ name, type: A.FLOAT, f: v });

/** TensorFlow's SAME padding for one axis: [before, after] (the extra pixel goes after). */
function samePad(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export interface OnnxExportOptions {
  inputName: string;
  /** One name per model output, in order. */
  outputNames: string[];
  producerVersion: string;
  /** Key/value metadata stored in the model (metadata_props). */
  metadata?: Record<string, string>;
  docString?: string;
}

/** Encodes `model` as an ONNX ModelProto (opset 13). */
export function toOnnx(model: tf.LayersModel, o: OnnxExportOptions): Uint8Array {
  const nodes: INode[] = [];
  const inits: ITensor[] = [];
  const names = new Map<number, { name: string; layout: Layout }>();
  let counter = 0;
  const fresh = (base: string) => `${base}_${counter++}`;

  const addInit = (name: string, dims: number[], data: Float32Array): string => {
    inits.push({
      name,
      dims,
      dataType: FLOAT,
      rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
    });
    return name;
  };
  const node = (opType: string, inputs: string[], attrs: IAttr[] = [], out?: string): string => {
    const output = out ?? fresh(opType.toLowerCase());
    nodes.push({ opType, input: inputs, output: [output], attribute: attrs, name: fresh(`n_${opType}`) });
    return output;
  };
  const read = (t: tf.LayerVariable | undefined, what: string): Float32Array => {
    if (!t) throw new Error(`missing weight ${what}`);
    return t.read().dataSync() as Float32Array;
  };
  const weightOf = (layer: tf.layers.Layer, suffix: string) =>
    layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`) || w.originalName === suffix);

  const input = model.inputs[0];
  if (!input || model.inputs.length !== 1) throw new Error('ONNX export needs a model with one input');
  const [, h, w, c] = input.shape as [null, number, number, number];
  const nchw = node('Transpose', [o.inputName], [ints('perm', [0, 3, 1, 2])], 'image_nchw');
  names.set(input.id, { name: nchw, layout: 'nchw' });

  const activation = (x: string, act: string | undefined, layout: Layout, layerName: string): string => {
    if (!act || act === 'linear') return x;
    if (act === 'relu') return node('Relu', [x]);
    if (act === 'softmax') {
      if (layout !== 'flat') throw new Error(`${layerName}: softmax on a 4-D tensor is not exported`);
      return node('Softmax', [x], [int('axis', -1)]);
    }
    if (act === 'sigmoid') return node('Sigmoid', [x]);
    if (act === 'tanh') return node('Tanh', [x]);
    throw new Error(`${layerName}: activation "${act}" cannot be exported to ONNX`);
  };

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'InputLayer') continue;
    const inbound = (layer as unknown as { inboundNodes: NodeLike[] }).inboundNodes;
    if (inbound.length !== 1) throw new Error(`layer ${layer.name} is applied ${inbound.length} times`);
    const nodeInfo = inbound[0]!;
    const ins = nodeInfo.inputTensors.map((t) => {
      const v = names.get(t.id);
      if (!v) throw new Error(`layer ${layer.name}: input not produced by an exported layer`);
      return v;
    });
    const x = ins[0]!;
    const inShape = nodeInfo.inputTensors[0]!.shape;
    const cfg = layer.getConfig() as Record<string, unknown>;
    let out: string;
    let layout: Layout = x.layout;
    switch (cls) {
      case 'Conv2D': {
        if (x.layout !== 'nchw') throw new Error(`${layer.name}: Conv2D on a flat tensor`);
        if (cfg.dataFormat && cfg.dataFormat !== 'channelsLast')
          throw new Error(`${layer.name}: only channelsLast`);
        const [kh, kw] = cfg.kernelSize as number[];
        const [sh, sw] = cfg.strides as number[];
        const dil = (cfg.dilationRate as number[] | number | undefined) ?? 1;
        if ((Array.isArray(dil) ? dil : [dil]).some((d) => d !== 1))
          throw new Error(`${layer.name}: dilated convolutions are not exported`);
        const kernel = weightOf(layer, 'kernel');
        const kt = kernel?.read() as tf.Tensor4D;
        const wData = tf.tidy(() => tf.transpose(kt, [3, 2, 0, 1])).dataSync() as Float32Array;
        const [cin, cout] = [kt.shape[2], kt.shape[3]];
        const W = addInit(`${layer.name}/kernel`, [cout, cin, kh!, kw!], wData);
        const inputs = [x.name, W];
        if (cfg.useBias)
          inputs.push(addInit(`${layer.name}/bias`, [cout], read(weightOf(layer, 'bias'), 'bias')));
        let pads = [0, 0, 0, 0];
        if (cfg.padding === 'same') {
          const [pt, pb] = samePad(inShape[1] as number, kh!, sh!);
          const [pl, pr] = samePad(inShape[2] as number, kw!, sw!);
          pads = [pt, pl, pb, pr];
        } else if (cfg.padding !== 'valid') throw new Error(`${layer.name}: padding ${String(cfg.padding)}`);
        const conv = node('Conv', inputs, [
          ints('kernel_shape', [kh!, kw!]),
          ints('strides', [sh!, sw!]),
          ints('pads', pads),
          ints('dilations', [1, 1]),
          int('group', 1),
        ]);
        out = activation(conv, cfg.activation as string, 'nchw', layer.name);
        break;
      }
      case 'BatchNormalization': {
        const axis = cfg.axis as number;
        if (x.layout !== 'nchw' || (axis !== -1 && axis !== 3))
          throw new Error(`${layer.name}: only channel-last batch norm on 4-D tensors`);
        const ch = inShape[3] as number;
        const ones = new Float32Array(ch).fill(1);
        const zeros = new Float32Array(ch);
        const gamma = cfg.scale === false ? ones : read(weightOf(layer, 'gamma'), 'gamma');
        const beta = cfg.center === false ? zeros : read(weightOf(layer, 'beta'), 'beta');
        out = node(
          'BatchNormalization',
          [
            x.name,
            addInit(`${layer.name}/gamma`, [ch], gamma),
            addInit(`${layer.name}/beta`, [ch], beta),
            addInit(`${layer.name}/moving_mean`, [ch], read(weightOf(layer, 'moving_mean'), 'moving_mean')),
            addInit(
              `${layer.name}/moving_variance`,
              [ch],
              read(weightOf(layer, 'moving_variance'), 'moving_variance'),
            ),
          ],
          [float('epsilon', cfg.epsilon as number)],
        );
        break;
      }
      case 'Activation':
        out = activation(x.name, cfg.activation as string, x.layout, layer.name);
        break;
      case 'Add': {
        if (ins.some((v) => v.layout !== x.layout)) throw new Error(`${layer.name}: mixed layouts`);
        out = ins.slice(1).reduce((acc, v) => node('Add', [acc, v.name]), x.name);
        break;
      }
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        if (x.layout !== 'nchw') throw new Error(`${layer.name}: pooling on a flat tensor`);
        const [ph, pw] = cfg.poolSize as number[];
        const [sh, sw] = (cfg.strides as number[] | null) ?? [ph!, pw!];
        const attrs = [ints('kernel_shape', [ph!, pw!]), ints('strides', [sh!, sw!])];
        if (cfg.padding === 'same') {
          const [pt, pb] = samePad(inShape[1] as number, ph!, sh!);
          const [pl, pr] = samePad(inShape[2] as number, pw!, sw!);
          attrs.push(ints('pads', [pt, pl, pb, pr]));
        } else attrs.push(ints('pads', [0, 0, 0, 0]));
        if (cls === 'AveragePooling2D') attrs.push(int('count_include_pad', 0));
        out = node(cls === 'AveragePooling2D' ? 'AveragePool' : 'MaxPool', [x.name], attrs);
        break;
      }
      case 'Flatten': {
        // tfjs flattens NHWC: go back to that order first.
        const src = x.layout === 'nchw' ? node('Transpose', [x.name], [ints('perm', [0, 2, 3, 1])]) : x.name;
        out = node('Flatten', [src], [int('axis', 1)]);
        layout = 'flat';
        break;
      }
      case 'Dense': {
        if (x.layout !== 'flat') throw new Error(`${layer.name}: Dense on a 4-D tensor is not exported`);
        const kernel = weightOf(layer, 'kernel')!.read();
        const [fin, units] = kernel.shape as [number, number];
        const inputs = [
          x.name,
          addInit(`${layer.name}/kernel`, [fin, units], kernel.dataSync() as Float32Array),
        ];
        if (cfg.useBias)
          inputs.push(addInit(`${layer.name}/bias`, [units], read(weightOf(layer, 'bias'), 'bias')));
        const gemm = node('Gemm', inputs, [float('alpha', 1), float('beta', 1)]);
        out = activation(gemm, cfg.activation as string, 'flat', layer.name);
        break;
      }
      default:
        throw new Error(`layer ${layer.name} (${cls}) cannot be exported to ONNX`);
    }
    const produced = nodeInfo.outputTensors[0];
    if (!produced) throw new Error(`layer ${layer.name} has no output`);
    names.set(produced.id, { name: out, layout });
  }

  const outputs = model.outputs.map((t, i) => {
    const v = names.get(t.id);
    const name = o.outputNames[i];
    if (!v || !name) throw new Error(`model output ${i} was not exported`);
    if (v.layout !== 'flat') throw new Error(`model output ${i} is not flat`);
    node('Identity', [v.name], [], name);
    return { name, dim: t.shape[1] as number };
  });

  const tensorType = (dims: Array<number | string>) => ({
    tensorType: {
      elemType: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  });
  const modelProto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'pretext',
    producerVersion: o.producerVersion,
    docString: o.docString ?? '',
    graph: {
      name: model.name,
      node: nodes,
      initializer: inits,
      input: [{ name: o.inputName, type: tensorType(['N', h, w, c]) }],
      output: outputs.map((v) => ({ name: v.name, type: tensorType(['N', v.dim]) })),
    },
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(modelProto).finish();
}
