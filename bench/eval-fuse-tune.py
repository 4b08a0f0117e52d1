#!/usr/bin/python3
# eval-fuse-tune.py: replays src/match/fuse.c's image-only formula on the candidate signals written by
# `bench/eval-match --pairs FILE`, for the current constants and a grid around them, and reports per setting
# how many right products reach the threshold and how many queries have a wrong product reaching it.
# Usage: bench/eval-fuse-tune.py PAIRS [--threshold 0.60] [--max-impostor 1.0]     (needs python3-numpy)

import argparse
import itertools

import numpy as np

CURRENT = dict(w_emb=0.45, w_hist=0.35, w_phash=0.20, emb_lo=0.50, emb_hi=0.90, hist_lo=0.40, hist_hi=0.90,
               ph_near=6, ph_far=22, cnn_min=128, support=0.60)


def ramp(x, lo, hi):
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def score(p, side, cos, hist, ph):
    lo, hi = p["cnn_min"], 2 * p["cnn_min"]
    trust = np.where(side >= hi, 1.0, np.where(side < lo, 0.0, (side - lo) / max(hi - lo, 1)))
    if p["cnn_min"] == 0:
        trust = np.ones_like(cos)
    we = p["w_emb"] * trust
    wsum = we + p["w_hist"] + p["w_phash"]
    esum = we * ramp(cos, p["emb_lo"], p["emb_hi"]) + p["w_hist"] * ramp(hist, p["hist_lo"], p["hist_hi"]) + \
        p["w_phash"] * (1 - ramp(ph, p["ph_near"], p["ph_far"]))
    return esum / wsum * np.clip(wsum / p["support"], 0, 1)


def evaluate(p, d, thr, max_imp=None):
    """(right >= thr %, wrong >= thr %, right above every wrong %, thr); with max_imp, thr is the lowest
    threshold at which at most max_imp % of the queries have a wrong product reaching it."""
    s = score(p, d["side"], d["cos"], d["hist"], d["ph"])
    true_s = np.zeros(d["nq"])
    imp = np.zeros(d["nq"])
    np.maximum.at(true_s, d["q"][d["true"]], s[d["true"]])
    np.maximum.at(imp, d["q"][~d["true"]], s[~d["true"]])
    if max_imp is not None:
        srt = np.sort(imp)[::-1]
        k = int(np.floor(max_imp / 100 * d["nq"]))
        thr = float(srt[k]) + 1e-6 if k < len(srt) else 0.0
    return 100 * (true_s >= thr).mean(), 100 * (imp >= thr).mean(), 100 * (true_s > imp).mean(), thr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pairs")
    ap.add_argument("--threshold", type=float, default=0.60)
    ap.add_argument("--max-impostor", type=float, default=1.0, help="%% of queries a wrong product may reach")
    a = ap.parse_args()
    rows = [l.split() for l in open(a.pairs)]
    keys = [(r[0], r[1]) for r in rows]
    qid = {}
    q = np.array([qid.setdefault(k, len(qid)) for k in keys])
    d = dict(q=q, nq=len(qid), true=np.array([r[2] == "1" for r in rows]),
             side=np.array([float(r[3]) for r in rows]), cos=np.array([float(r[4]) for r in rows]),
             hist=np.array([float(r[5]) for r in rows]), ph=np.array([float(r[6]) for r in rows]))
    t, f = d["true"], ~d["true"]
    for name in ("cos", "hist", "ph"):
        print("%-5s right product: p5 %.3f p50 %.3f | wrong candidates: p50 %.3f p99 %.3f max %.3f" % (
            name, np.percentile(d[name][t], 5), np.percentile(d[name][t], 50), np.percentile(d[name][f], 50),
            np.percentile(d[name][f], 99), d[name][f].max()))
    cur = evaluate(CURRENT, d, a.threshold)
    print("current constants: right >= %.2f: %.1f %%, wrong >= %.2f: %.1f %%, right above every wrong: %.1f %%"
          % (a.threshold, cur[0], a.threshold, cur[1], cur[2]))
    for mi in (0.5, 1.0, 2.0):
        r = evaluate(CURRENT, d, 0, mi)
        print("current constants, threshold %.3f (wrong >= it for %.1f %% of queries): right >= it %.1f %%"
              % (r[3], r[1], r[0]))
    grid = dict(w_emb=[0.45, 0.60], w_hist=[0.20, 0.35], emb_lo=[0.30, 0.40, 0.50], emb_hi=[0.70, 0.80, 0.90],
                hist_lo=[0.40, 0.50, 0.60], hist_hi=[0.85, 0.95], cnn_min=[0, 64, 128])
    best = []
    for vals in itertools.product(*grid.values()):
        p = dict(CURRENT, **dict(zip(grid.keys(), vals)))
        if p["emb_lo"] >= p["emb_hi"]:
            continue
        r = evaluate(p, d, 0, a.max_impostor)
        best.append((r[0], r[2], r[3], p))
    best.sort(key=lambda b: (b[0], b[1]), reverse=True)
    print("best settings, each at the threshold where a wrong product reaches it for <= %.1f %% of queries:"
          % a.max_impostor)
    for r0, r2, thr, p in best[:8]:
        diff = {k: v for k, v in p.items() if CURRENT[k] != v}
        print("  threshold %.3f: right >= it %.1f %%, right above every wrong %.1f %%: %s" % (thr, r0, r2, diff))


if __name__ == "__main__":
    main()
