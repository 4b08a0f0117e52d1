#!/usr/bin/python3
# extract-bench.py: pages per second per core for extruct (Debian python3-extruct) over the same saved pages as bench/extract-bench.c.
import importlib.metadata
import json
import sys
import time

import extruct

SYNTAXES = ["json-ld", "microdata", "opengraph", "rdfa"]


def one_pass(pages):
    found = 0
    for url, html in pages:
        # errors="ignore": a broken JSON-LD block is skipped, as pricewatch survives it.
        data = extruct.extract(html, base_url=url, syntaxes=SYNTAXES, errors="ignore")
        found += sum(len(v) for v in data.values())
    return found


def main(argv):
    min_seconds = 5.0
    if len(argv) > 2 and argv[1] == "--seconds":
        min_seconds = float(argv[2])
        argv = argv[2:]
    paths = argv[1:]
    if not paths:
        print("usage: extract-bench.py [--seconds S] PAGE.html...", file=sys.stderr)
        return 2
    pages = []
    for p in paths:
        with open(p, "rb") as f:
            pages.append(("https://bench.example/" + p.rsplit("/", 1)[-1], f.read()))
    one_pass(pages)  # warm-up: imports, lxml initialisation
    rounds = found = 0
    wall0, cpu0 = time.monotonic(), time.process_time()
    while True:
        found += one_pass(pages)
        rounds += 1
        if time.monotonic() - wall0 >= min_seconds:
            break
    wall, cpu = time.monotonic() - wall0, time.process_time() - cpu0
    print(json.dumps({"engine": "extruct", "version": importlib.metadata.version("extruct"), "pages": len(pages),
                      "rounds": rounds, "items_per_round": found // rounds, "wall_s": round(wall, 3),
                      "cpu_s": round(cpu, 3), "pages_per_cpu_s": round(len(pages) * rounds / cpu, 1),
                      "pages_per_wall_s": round(len(pages) * rounds / wall, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
