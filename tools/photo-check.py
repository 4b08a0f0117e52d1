#!/usr/bin/python3
# photo-check.py: runs the converted model in ONNX Runtime on real photos (nsfwjs preprocessing) and checks that
# the features/block10 embeddings are sane: finite, non-zero, not constant, and distinct between photos.
#
# Usage: tools/photo-check.py --ort DIR [--model FILE] [--keep DIR] PHOTO...
#   DIR: scratch folder of bench/ort/setup.sh.  PHOTO: binary PPM (P6), JPEG when djpeg (Debian
#   libjpeg-turbo-progs) is installed, or any format ImageMagick's `convert` reads.  --keep DIR leaves the 1x3x224x224 inputs and the outputs there.
# Exits 1 if any check fails.  Needs python3-numpy and node; not part of `make check`.

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 224


def read_ppm(data, where):
    """Binary PPM (P6, maxval < 256) -> uint8 [H, W, 3]."""
    fields, pos = [], 0
    while len(fields) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or int(fields[3]) > 255:
        raise ValueError("%s: not an 8-bit binary PPM" % where)
    w, h = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data, np.uint8, count=w * h * 3, offset=pos + 1)
    return pixels.reshape(h, w, 3)


def load_photo(path):
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xff\xd8") and shutil.which("djpeg"):      # JPEG: libjpeg-turbo-progs
        data = subprocess.run(["djpeg", "-ppm", path], check=True, capture_output=True).stdout
    elif not data.startswith(b"P6"):
        if not shutil.which("convert"):
            raise ValueError("%s: not a PPM, and neither djpeg nor ImageMagick's convert can read it" % path)
        data = subprocess.run(["convert", path, "-strip", "-depth", "8", "ppm:-"], check=True, capture_output=True).stdout
    return read_ppm(data, path)


def resize_bilinear_align_corners(img, size):
    """tf.image.resizeBilinear(img, [size, size], alignCorners=true) on float [H, W, C], as nsfwjs does."""
    h, w, _ = img.shape

    def axis(n):
        src = np.arange(size) * ((n - 1) / (size - 1)) if size > 1 else np.zeros(1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        return lo, hi, (src - lo)

    y0, y1, fy = axis(h)
    x0, x1, fx = axis(w)
    top = img[y0][:, x0] * (1 - fx)[None, :, None] + img[y0][:, x1] * fx[None, :, None]
    bot = img[y1][:, x0] * (1 - fx)[None, :, None] + img[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bot * fy[:, None, None]


def preprocess(rgb):
    """uint8 [H, W, 3] -> float32 [1, 3, 224, 224], RGB in [0, 1] (divide by 255 first, then resize)."""
    x = resize_bilinear_align_corners(rgb.astype(np.float64) / 255.0, SIZE)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def run_ort(ort_dir, model, npy, outdir, prefix):
    subprocess.run(["node", os.path.join(TOP, "bench", "ort", "ort-run.js"), "--ort", ort_dir, "--model", model,
                    "--input", "input=" + npy, "--output-dir", outdir, "--prefix", prefix],
                   check=True, stdout=subprocess.DEVNULL)
    return {o: np.load(os.path.join(outdir, prefix + o + ".npy")) for o in ("features", "block10")}


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-30))


def main(argv):
    ap = argparse.ArgumentParser(description="Check the converted model's embeddings on real photos.")
    ap.add_argument("--ort", default=os.environ.get("ORT_NODE_DIR"), help="onnxruntime-node scratch folder")
    ap.add_argument("--model", default=os.path.join(TOP, "data", "models", "mobilenetv2-nsfwjs.onnx"))
    ap.add_argument("--keep", help="write inputs and outputs here instead of a temporary folder")
    ap.add_argument("photos", nargs="+")
    args = ap.parse_args(argv)
    if not args.ort:
        ap.error("give --ort DIR or set ORT_NODE_DIR (see bench/ort/setup.sh)")

    outdir = args.keep or tempfile.mkdtemp(prefix="photo-check.")
    os.makedirs(outdir, exist_ok=True)
    ok, results = True, []
    try:
        for i, photo in enumerate(args.photos):
            rgb = load_photo(photo)
            variants = {"": rgb, "half": rgb[::2, ::2]}   # a re-hosted, downscaled copy of the same photo
            for tag, img in variants.items():
                prefix = "photo%d%s." % (i, "-" + tag if tag else "")
                npy = os.path.join(outdir, prefix + "input.npy")
                np.save(npy, preprocess(img))
                out = run_ort(args.ort, args.model, npy, outdir, prefix)
                results.append((photo, tag, out))
                for name, v in out.items():
                    finite = bool(np.all(np.isfinite(v)))
                    nonzero = float(np.mean(v != 0))
                    spread = float(np.std(v))
                    good = finite and nonzero > 0.05 and spread > 1e-4
                    ok = ok and good
                    print("%-4s %-40s %-8s %s dim %d  norm %.3f  nonzero %.0f%%  min %.3g max %.3g std %.3g" % (
                        "ok" if good else "BAD", os.path.basename(photo) + (" (" + tag + ")" if tag else ""), name,
                        "finite" if finite else "NON-FINITE", v.size, float(np.linalg.norm(v)), 100 * nonzero,
                        float(v.min()), float(v.max()), spread))
        print("cosine similarities (features / block10):")
        for a in range(len(results)):
            for b in range(a + 1, len(results)):
                pa, ta, oa = results[a]
                pb, tb, ob = results[b]
                print("  %s%s vs %s%s: %.4f / %.4f" % (
                    os.path.basename(pa), " (" + ta + ")" if ta else "", os.path.basename(pb),
                    " (" + tb + ")" if tb else "", cosine(oa["features"], ob["features"]),
                    cosine(oa["block10"], ob["block10"])))
                if pa != pb and cosine(oa["features"], ob["features"]) > 0.9999:
                    print("  BAD: two different photos give the same features")
                    ok = False
    finally:
        if not args.keep:
            shutil.rmtree(outdir, ignore_errors=True)
    print("photo-check: %s" % ("all checks passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        print("photo-check: %s" % e, file=sys.stderr)
        sys.exit(2)
