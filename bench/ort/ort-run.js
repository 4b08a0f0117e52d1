// ort-run.js: runs an ONNX model in ONNX Runtime on .npy inputs and writes each output as .npy (the reference outputs for the C engine's tests).
//
// Usage: node bench/ort/ort-run.js [--ort DIR] --model FILE --input NAME=FILE.npy ... [--output-dir DIR]
//        [--prefix STR] [--threads N]
// Writes DIR/<prefix><output-name>.npy for every model output (float32, C order).
'use strict';
const path = require('path');
const { readNpy, writeNpy } = require('./npy');
const { loadOrt } = require('./ort-load');

function parseArgs(argv) {
  const a = { inputs: [], outputDir: '.', prefix: '', threads: 1 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--ort') a.ort = v();
    else if (k === '--model') a.model = v();
    else if (k === '--input') a.inputs.push(v());
    else if (k === '--output-dir') a.outputDir = v();
    else if (k === '--prefix') a.prefix = v();
    else if (k === '--threads') a.threads = Number(v());
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model || a.inputs.length === 0) throw new Error('usage: ort-run.js --model FILE --input NAME=FILE.npy ...');
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { ort, version } = loadOrt(args.ort);
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const spec of args.inputs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new Error(`--input ${spec}: want NAME=FILE.npy`);
    const { shape, data } = readNpy(spec.slice(eq + 1));
    feeds[spec.slice(0, eq)] = new ort.Tensor('float32', data, shape);
  }
  const results = await session.run(feeds);
  for (const name of session.outputNames) {
    const t = results[name];
    const file = path.join(args.outputDir, `${args.prefix}${name}.npy`);
    writeNpy(file, t.dims, t.data);
    console.log(`onnxruntime ${version}: ${name} [${t.dims.join(',')}] -> ${file}`);
  }
}

main().catch((e) => {
  console.error(`ort-run: ${e.message}`);
  process.exit(1);
});
