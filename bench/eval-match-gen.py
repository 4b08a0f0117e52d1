#!/usr/bin/python3
# eval-match-gen.py: builds the product-recognition evaluation set from photographs shipped in Debian packages:
# catalogue originals, >= 1,000 distractors, marketplace-style queries of every original, and a disjoint
# unlabelled set for learning the whitening. Nothing is committed: everything goes under OUT (default
# /tmp/pw-eval). Needs python3-pil and python3-numpy; sources: opencv-doc, python3-skimage,
# plasma-workspace-wallpapers, mate-backgrounds, tuxpaint-stamps-default (bench/RESULTS.md, "Product recognition").
#
# Usage: bench/eval-match-gen.py [--out DIR] [--distractors N] [--seed S]
# Writes OUT/catalog.txt ("ID PATH"; originals first), OUT/queries.txt ("TRANSFORM ID PATH"),
# OUT/train.txt (one PATH a line) and the images under OUT/{orig,dist,query,train}/.

import argparse
import glob
import io
import os
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

OPENCV = "/usr/share/doc/opencv-doc/examples/data"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
# Near-duplicate pairs and calibration shots are left out of the originals (one of a pair would be the
# other's query); text, masks and synthetic patterns are not product-like photographs.
OPENCV_SKIP = ("left", "right", "aloeR", "aloeGT", "Blender_Suzanne2", "basketball2", "rubberwhale2", "leuvenB",
               "graf3", "ela_modified", "box_in_scene", "chessboard", "digits", "gradient", "imageText", "mask",
               "notes", "sudoku", "templ", "tmpl", "text_", "detect_blob", "ellipses", "pic", "ml.png",
               "licenseplate_motion", "pca_test1", "cards", "opencv-logo-white")
# Rendered or flat wallpapers (nothing to recognise) and a near-duplicate pair.
WALL_SKIP = ("Arc-Colors-Transparent", "MATE-Stripes", "Ubuntu-Mate-Radioactive", "Flow.png", "Silk.png",
             "Waves.png")
# Tux Paint stamps: photographs and drawings of single objects on transparency — product shots once put on
# white. Those with a side >= 300 px are catalogue candidates; the rest are distractors.
STAMPS = "/usr/share/tuxpaint/stamps"
N_STAMP_ORIGINALS = 100
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                  "hubble_deep_field.jpg", "retina.jpg", "ihc.png", "color.png", "logo.png")
MAX_SIDE = 1024          # catalogue images as a shop would serve them
TRANSFORMS = ("thumb96", "thumb128", "thumb160", "jpeg_q20", "webp_q20", "crop10", "crop30", "pad_white",
              "watermark", "rotate5", "colour", "market")


def load(path):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    return im.convert("RGB")


def cap(im, side=MAX_SIDE):
    if max(im.size) <= side:
        return im
    s = side / max(im.size)
    return im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.LANCZOS)


def largest_per_dir(paths):
    """Plasma ships one picture in several sizes: keep the largest file per images/ folder."""
    best = {}
    for p in paths:
        d = os.path.dirname(p)
        if d not in best or os.path.getsize(p) > os.path.getsize(best[d]):
            best[d] = p
    return sorted(best.values())


def sources():
    """(originals, distractor sources): disjoint lists of photograph paths."""
    cv = sorted(p for p in glob.glob(OPENCV + "/*") if p.lower().endswith((".jpg", ".png"))
                and not any(os.path.basename(p).startswith(s) or s in os.path.basename(p) for s in OPENCV_SKIP))
    sk = [os.path.join(SKIMAGE, n) for n in SKIMAGE_PHOTOS if os.path.exists(os.path.join(SKIMAGE, n))]
    mate = sorted(glob.glob("/usr/share/backgrounds/mate/*/*.jpg") + glob.glob("/usr/share/backgrounds/mate/*/*.png"))
    plasma = largest_per_dir(glob.glob("/usr/share/wallpapers/*/contents/images/*.jpg") +
                             glob.glob("/usr/share/wallpapers/*/contents/images/*.png"))
    gnome = sorted(glob.glob("/usr/share/backgrounds/gnome/*.webp"))
    calib = sorted(glob.glob(OPENCV + "/left*.jpg") + glob.glob(OPENCV + "/right*.jpg"))
    # Every other wallpaper is an original, the rest (and the calibration shots) feed the distractors.
    walls = [w for w in mate + plasma if not any(k in w for k in WALL_SKIP)]
    big, small = [], []
    for p in sorted(glob.glob(STAMPS + "/**/*.png", recursive=True)):
        if "/symbols/" in p:
            continue
        with Image.open(p) as im:
            side = max(im.size)
        (big if side >= 300 else small if side >= 100 else []).append(p)
    stamp_orig = random.Random(60).sample(big, min(N_STAMP_ORIGINALS, len(big)))
    originals = cv + sk + walls[0::2] + sorted(stamp_orig)
    distract = walls[1::2] + gnome + calib
    stamps_distract = [p for p in big if p not in stamp_orig] + small
    return originals, distract, stamps_distract


def on_white(im, margin=0.05):
    """A cut-out object as a shop shows it: on white, with a small margin."""
    pad = int(max(im.size) * margin)
    canvas = Image.new("RGB", (im.width + 2 * pad, im.height + 2 * pad), (255, 255, 255))
    canvas.paste(im, (pad, pad))
    return canvas


def signature(path):
    """16x16 grey thumbnail, centred and normalised (None for a flat image: nothing to recognise)."""
    im = load(path)
    if path.startswith(STAMPS):
        im = on_white(im)
    a = np.asarray(im.convert("L").resize((16, 16), Image.BILINEAR), dtype=np.float64).ravel()
    a -= a.mean()
    n = np.linalg.norm(a)
    return a / n if n > 1e-6 * a.size and a.std() > 4 else None


def distinct(originals, stamps_distract):
    """Drops flat originals and any original or stamp that is a near-copy (correlation > 0.97) of one kept
    before it: the packages ship a few pictures twice, and a query must have one right answer."""
    kept, sigs = ([], []), []
    for k, group in enumerate((originals, stamps_distract)):
        for p in group:
            s = signature(p)
            if s is None or any(float(s @ t) > 0.97 for t in sigs):
                continue
            sigs.append(s)
            kept[k].append(p)
    return kept


def random_crop(im, rng, min_frac=0.25):
    w, h = im.size
    fw = rng.uniform(min_frac, 1.0)
    fh = min(1.0, max(min_frac, fw * rng.uniform(0.6, 1.6)))
    cw, ch = max(16, int(w * fw)), max(16, int(h * fh))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch))


def encode(im, fmt, quality):
    buf = io.BytesIO()
    im.save(buf, format=fmt, quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def thumb(im, side):
    s = side / max(im.size)
    return im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))), Image.BILINEAR)


def crop_frac(im, frac, rng):
    """Cuts frac of each side's length away (in total), at a random offset."""
    w, h = im.size
    cw, ch = round(w * (1 - frac)), round(h * (1 - frac))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    return im.crop((x, y, x + cw, y + ch))


def pad_white(im, margin=0.25):
    side = int(max(im.size) * (1 + margin))
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(im, ((side - im.width) // 2, (side - im.height) // 2))
    return canvas


def watermark(im, rng):
    im = im.copy()
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    size = max(12, im.width // 9)
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        font = ImageFont.load_default()
    text = rng.choice(["SALE -30%", "shop.example", "BEST PRICE", "NEW"])
    for k in range(3):
        y = int(im.height * (0.2 + 0.3 * k))
        d.text((im.width // 10, y), text, fill=(255, 255, 255, 150), font=font)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def rotate(im, deg):
    return im.rotate(deg, resample=Image.BICUBIC, expand=True, fillcolor=(255, 255, 255))


def colour(im):
    a = np.asarray(im).astype(np.float32)
    a = a * np.array([1.12, 1.0, 0.88]) + 12          # white balance and brightness shift
    im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    return ImageEnhance.Color(im).enhance(1.3)


def transform(name, im, rng):
    if name.startswith("thumb"):
        return encode(thumb(im, int(name[5:])), "JPEG", 80), "jpg"
    if name == "jpeg_q20":
        return im, ("JPEG", 20)
    if name == "webp_q20":
        return im, ("WEBP", 20)
    if name == "crop10":
        return crop_frac(im, 0.10, rng), "jpg"
    if name == "crop30":
        return crop_frac(im, 0.30, rng), "jpg"
    if name == "pad_white":
        return pad_white(im), "jpg"
    if name == "watermark":
        return watermark(im, rng), "jpg"
    if name == "rotate5":
        return rotate(im, rng.choice([-5, -3, 3, 5])), "jpg"
    if name == "colour":
        return colour(im), "jpg"
    if name == "market":   # several at once: padded, watermarked, 160-px thumbnail, JPEG q40
        return thumb(watermark(pad_white(crop_frac(im, 0.1, rng), 0.15), rng), 160), ("JPEG", 40)
    raise ValueError(name)


def save(im, path, how):
    if how == "jpg":
        im.save(path, format="JPEG", quality=85)
    elif how == "png":
        im.save(path, format="PNG")
    else:
        im.save(path, format=how[0], quality=how[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/tmp/pw-eval")
    ap.add_argument("--distractors", type=int, default=1200)
    ap.add_argument("--train", type=int, default=600, help="unlabelled images for the whitening")
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    originals, distract, stamps_distract = sources()
    if len(originals) < 50 or not distract:
        sys.exit("eval-match-gen: too few photographs (install opencv-doc, python3-skimage, "
                 "plasma-workspace-wallpapers, mate-backgrounds, tuxpaint-stamps-default)")
    originals, stamps_distract = distinct(originals, stamps_distract)
    for d in ("orig", "dist", "query", "train"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    cat, qs, train = [], [], []
    for i, p in enumerate(originals):
        im = cap(load(p))
        if p.startswith(STAMPS):
            im = on_white(im)
        path = os.path.join(a.out, "orig", "%04d.jpg" % i)
        im.save(path, quality=92)
        cat.append("%d %s" % (i, path))
        for t in TRANSFORMS:
            q, how = transform(t, im, rng)
            ext = "webp" if how == ("WEBP", 20) else "jpg"
            qp = os.path.join(a.out, "query", "%04d-%s.%s" % (i, t, ext))
            save(q, qp, how)
            qs.append("%s %d %s" % (t, i, qp))
    srcs = [cap(load(p), 2048) for p in distract]
    for k in range(a.distractors):
        if k < len(stamps_distract):
            im = on_white(load(stamps_distract[k]))
        else:
            im = cap(random_crop(srcs[k % len(srcs)], rng), rng.choice([320, 480, 640, 800]))
        path = os.path.join(a.out, "dist", "%05d.jpg" % k)
        im.save(path, quality=85)
        cat.append("%d %s" % (len(originals) + k, path))
    # The whitening's unlabelled images: other crops of the distractor sources, some shrunk and recompressed
    # (what catalogue and listing images look like); never an original or a query.
    trng = random.Random(a.seed + 1000)
    for k in range(a.train):
        im = random_crop(srcs[(k * 7) % len(srcs)], trng)
        if trng.random() < 0.5:
            im = thumb(im, trng.choice([128, 160, 240]))
        im = cap(im, 640)
        path = os.path.join(a.out, "train", "%05d.jpg" % k)
        im.save(path, quality=trng.choice([40, 70, 90]))
        train.append(path)
    with open(os.path.join(a.out, "catalog.txt"), "w") as f:
        f.write("\n".join(cat) + "\n")
    with open(os.path.join(a.out, "queries.txt"), "w") as f:
        f.write("\n".join(qs) + "\n")
    with open(os.path.join(a.out, "train.txt"), "w") as f:
        f.write("\n".join(train) + "\n")
    print("%d originals, %d distractors, %d queries (%d transforms), %d training images -> %s" % (
        len(originals), a.distractors, len(qs), len(TRANSFORMS), len(train), a.out))


if __name__ == "__main__":
    main()
