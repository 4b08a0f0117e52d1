// ort-bench.js: measures ONNX Runtime (the peer engine) on an ONNX model: batch-1 latency p50/p99 and batch-N throughput.
//
// Usage: node bench/ort/ort-bench.js [--ort DIR] --model FILE [--threads N] [--batch N] [--runs N]
//        [--warmup N] [--input NAME]
// onnxruntime-node is not vendored: DIR (or $ORT_NODE_DIR) is the scratch folder filled by bench/ort/setup.sh.
// Prints one JSON object: {engine, version, model, threads, batch, runs, p50_ms, p99_ms, mean_ms, throughput_ips}.
// Latency is per run() call (a whole batch); throughput_ips = batch * runs / total seconds.
'use strict';
const path = require('path');
const { loadOrt } = require('./ort-load');

function parseArgs(argv) {
  const a = { threads: 1, batch: 1, runs: 200, warmup: 20 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    const n = () => {
      const x = Number(v());
      if (!Number.isInteger(x) || x < 1) throw new Error(`${k} wants a positive integer`);
      return x;
    };
    if (k === '--ort') a.ort = v();
    else if (k === '--model') a.model = v();
    else if (k === '--threads') a.threads = n();
    else if (k === '--batch') a.batch = n();
    else if (k === '--runs') a.runs = n();
    else if (k === '--warmup') a.warmup = n();
    else if (k === '--input') a.input = v();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.model) throw new Error('usage: ort-bench.js --model FILE [--threads N] [--batch N] [--runs N]');
  return a;
}

// Nearest-rank percentile over a sorted array.
function percentile(sorted, p) {
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
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
  const inputName = args.input || session.inputNames[0];
  // The model's input shape with the batch dimension replaced; symbolic dims other than the first are refused.
  const meta = session.inputMetadata ? session.inputMetadata.find((m) => m.name === inputName) : null;
  let dims = meta && meta.shape ? meta.shape.slice() : [null, 3, 224, 224];
  dims[0] = args.batch;
  if (dims.some((d) => typeof d !== 'number')) throw new Error(`input ${inputName}: non-static shape ${dims}`);
  const count = dims.reduce((x, y) => x * y, 1);
  const data = new Float32Array(count);
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0; // deterministic pseudo-image in [0,1)
    data[i] = (seed >>> 8) / 16777216;
  }
  const feeds = { [inputName]: new ort.Tensor('float32', data, dims) };

  for (let i = 0; i < args.warmup; i++) await session.run(feeds);
  const times = new Float64Array(args.runs);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < args.runs; i++) {
    const s = process.hrtime.bigint();
    await session.run(feeds);
    times[i] = Number(process.hrtime.bigint() - s) / 1e6;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  const sorted = Array.from(times).sort((x, y) => x - y);
  const round = (x) => Math.round(x * 1000) / 1000;
  console.log(JSON.stringify({
    engine: 'onnxruntime-node',
    version,
    model: path.basename(args.model),
    threads: args.threads,
    batch: args.batch,
    runs: args.runs,
    p50_ms: round(percentile(sorted, 50)),
    p99_ms: round(percentile(sorted, 99)),
    mean_ms: round(sorted.reduce((x, y) => x + y, 0) / sorted.length),
    throughput_ips: round((args.batch * args.runs) / total),
  }));
}

main().catch((e) => {
  console.error(`ort-bench: ${e.message}`);
  process.exit(1);
});
