// tfjs-check.js: runs the original nsfwjs MobileNetV2 in TensorFlow.js on a .npy input and writes the pooled
// out_relu / block_10 activations as .npy, the independent check that tools/convert-nsfwjs.py converted it right.
//
// Usage: node tools/tfjs-check.js --tfjs DIR --nsfwjs PKGDIR --input FILE.npy [--output-dir DIR] [--prefix STR]
//   DIR: scratch folder with @tensorflow/tfjs installed (npm install --ignore-scripts @tensorflow/tfjs)
//   PKGDIR: the unpacked nsfwjs tarball ("package/"); input: float32 NCHW [N,3,224,224], RGB in [0,1].
// Writes <prefix>features.npy [N,1280] and <prefix>block10.npy [N,96]; also prints nsfwjs's own class scores.
'use strict';
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('../bench/ort/npy');

function parseArgs(argv) {
  const a = { outputDir: '.', prefix: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
    const v = argv[++i];
    if (k === '--tfjs') a.tfjs = v;
    else if (k === '--nsfwjs') a.nsfwjs = v;
    else if (k === '--input') a.input = v;
    else if (k === '--output-dir') a.outputDir = v;
    else if (k === '--prefix') a.prefix = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.tfjs || !a.nsfwjs || !a.input) throw new Error('usage: tfjs-check.js --tfjs DIR --nsfwjs PKGDIR --input FILE.npy');
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const tf = require(path.resolve(args.tfjs, 'node_modules', '@tensorflow', 'tfjs'));
  const dir = path.resolve(args.nsfwjs, 'dist', 'models', 'mobilenet_v2');
  const model = require(path.join(dir, 'model.min.js'));   // browserify bundle: {modelTopology, weightsManifest}
  const chunks = [];
  for (const group of model.weightsManifest) {
    for (const p of group.paths) chunks.push(Buffer.from(require(path.join(dir, `${p}.min.js`)), 'base64'));
  }
  const blob = Buffer.concat(chunks);
  const weightData = blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.length);
  const weightSpecs = model.weightsManifest.flatMap((g) => g.weights);
  const full = await tf.loadLayersModel({ load: async () => ({ modelTopology: model.modelTopology, weightSpecs, weightData }) });
  const sub = tf.model({
    inputs: full.inputs,
    outputs: [full.getLayer('out_relu').output, full.getLayer('block_10_project_BN').output, full.outputs[0]],
  });

  const { shape, data } = readNpy(args.input);
  const x = tf.tensor4d(data, shape).transpose([0, 2, 3, 1]);     // NCHW -> NHWC
  const [top, b10, probs] = sub.predict(x);
  const out = { features: top.mean([1, 2]), block10: b10.mean([1, 2]) };
  for (const [name, t] of Object.entries(out)) {
    const file = path.join(args.outputDir, `${args.prefix}${name}.npy`);
    writeNpy(file, t.shape, await t.data());
    console.log(`tfjs ${tf.version.tfjs} (${tf.getBackend()}): ${name} [${t.shape}] -> ${file}`);
  }
  const classes = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];  // nsfwjs's class order (dist/cjs/nsfw_classes.js)
  const p = await probs.data();
  for (let n = 0; n < shape[0]; n++) {
    const row = classes.map((c, i) => `${c} ${p[n * classes.length + i].toFixed(3)}`).join(', ');
    console.log(`nsfwjs scores, image ${n}: ${row}`);
  }
}

main().catch((e) => {
  console.error(`tfjs-check: ${e.message}`);
  process.exit(1);
});
