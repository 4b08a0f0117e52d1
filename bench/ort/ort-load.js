// ort-load.js: finds and loads onnxruntime-node from a scratch install (it is not vendored in the repo).
'use strict';
const fs = require('fs');
const path = require('path');

// dir: the scratch folder given to setup.sh, or its node_modules/onnxruntime-node; falls back to $ORT_NODE_DIR.
function loadOrt(dir) {
  const base = dir || process.env.ORT_NODE_DIR;
  if (!base) {
    throw new Error('onnxruntime-node not given: pass --ort DIR or set ORT_NODE_DIR (see bench/ort/setup.sh)');
  }
  const candidates = [path.join(base, 'node_modules', 'onnxruntime-node'), base];
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, 'package.json'))) {
      const ort = require(path.resolve(c));
      const version = JSON.parse(fs.readFileSync(path.join(c, 'package.json'), 'utf8')).version;
      return { ort, version, dir: path.resolve(c) };
    }
  }
  throw new Error(`${base}: no onnxruntime-node install found there (run bench/ort/setup.sh ${base})`);
}

module.exports = { loadOrt };
