#!/usr/bin/python3
# learn-whitening.py: learns PCA whitening for an embedding output from unlabelled images' raw (L2-normalised)
# embeddings, and records it in the model's sidecar JSON so src/match/descriptor.c applies it.
#
# Usage (bench/RESULTS.md, docs/matching.md):
#   bench/eval-match --model M.onnx --dump-train /tmp/raw.f32 /tmp/pw-eval      # raw vectors of train.txt
#   tools/learn-whitening.py /tmp/raw.f32 --dim 88 --sidecar M.json [--keep 64] [--shrink 0.1]
#
# The file written next to the sidecar (<sidecar base>.white) is float32 little-endian: the mean (dim floats),
# then the projection, keep rows of dim floats: row i = u_i / sqrt(lambda_i + shrink * mean(lambda)).
# descriptor.c computes normalise(P (x - mean)) with x the L2-normalised pooled output. Needs python3-numpy.

import argparse
import json
import os
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw", help="float32 n x dim file of L2-normalised embeddings (eval-match --dump-train)")
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--sidecar", required=True, help="model sidecar JSON to update (created when missing)")
    ap.add_argument("--keep", type=int, default=0, help="components kept (0: all)")
    ap.add_argument("--shrink", type=float, default=0.1,
                    help="added to every eigenvalue, as a fraction of their mean (tames tiny directions)")
    a = ap.parse_args()
    x = np.fromfile(a.raw, dtype="<f4")
    if x.size == 0 or x.size % a.dim:
        sys.exit("learn-whitening: %s: %d floats is not a multiple of %d" % (a.raw, x.size, a.dim))
    x = x.reshape(-1, a.dim).astype(np.float64)
    n = x.shape[0]
    if n < 2 * a.dim:
        sys.exit("learn-whitening: %d vectors are too few for %d dimensions" % (n, a.dim))
    mean = x.mean(axis=0)
    cov = np.cov(x - mean, rowvar=False)
    lam, u = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1]
    lam, u = lam[order], u[:, order]
    keep = a.keep if 0 < a.keep <= a.dim else a.dim
    eps = a.shrink * lam.mean()
    proj = (u[:, :keep] / np.sqrt(np.maximum(lam[:keep], 0) + eps)).T
    white = os.path.splitext(a.sidecar)[0] + ".white"
    np.concatenate([mean, proj.ravel()]).astype("<f4").tofile(white)
    side = {}
    if os.path.exists(a.sidecar):
        with open(a.sidecar) as f:
            side = json.load(f)
    side["whitening"] = {"file": os.path.basename(white), "in": a.dim, "out": keep}
    with open(a.sidecar, "w") as f:
        json.dump(side, f, indent=1)
        f.write("\n")
    print("%s: %d vectors, %d -> %d, shrink %.3g (variance kept %.1f %%); %s updated" % (
        white, n, a.dim, keep, a.shrink, 100 * lam[:keep].sum() / lam.sum(), a.sidecar))


if __name__ == "__main__":
    main()
