#!/usr/bin/env python3
"""Writes the load bench's request bodies from .fvecs files (one JSON body per line).

make_bodies.py BASE.fvecs QUERY.fvecs OUT_DIR POINTS K EF MIXED_BATCH
  OUT_DIR/load/batch_NNNN.json  upsert bodies of 1,000 points: ids 0..POINTS-1 (the initial load)
  OUT_DIR/upserts.txt           20 upsert bodies of 1,000 points (existing ids: updates)
  OUT_DIR/mixed_upserts.txt     200 upsert bodies of MIXED_BATCH points (existing ids)
  OUT_DIR/queries.txt           one points/query body per query vector
"""
import json
import os
import struct
import sys


def read_fvecs(path, limit):
    rows = []
    with open(path, "rb") as f:
        while len(rows) < limit:
            head = f.read(4)
            if len(head) < 4:
                break
            (dim,) = struct.unpack("<i", head)
            rows.append(struct.unpack("<%df" % dim, f.read(4 * dim)))
    return rows


def body(rows, first):
    points = [{"id": first + i, "vector": [round(x, 6) for x in row]} for i, row in enumerate(rows)]
    return json.dumps({"points": points}, separators=(",", ":"))


def main():
    base_path, query_path, out, points, k, ef, mixed_batch = sys.argv[1:8]
    points, k, ef, mixed_batch = int(points), int(k), int(ef), int(mixed_batch)
    base = read_fvecs(base_path, points)
    queries = read_fvecs(query_path, 10000)
    os.makedirs(os.path.join(out, "load"), exist_ok=True)
    for first in range(0, len(base), 1000):
        with open(os.path.join(out, "load", "batch_%04d.json" % (first // 1000)), "w") as f:
            f.write(body(base[first:first + 1000], first))
    with open(os.path.join(out, "upserts.txt"), "w") as f:
        for b in range(20):
            first = (b * 1000 * 7) % max(1, len(base) - 1000)
            f.write(body(base[first:first + 1000], first) + "\n")
    with open(os.path.join(out, "mixed_upserts.txt"), "w") as f:
        for b in range(200):
            first = (b * mixed_batch * 13) % max(1, len(base) - mixed_batch)
            f.write(body(base[first:first + mixed_batch], first) + "\n")
    with open(os.path.join(out, "queries.txt"), "w") as f:
        for q in queries:
            f.write(json.dumps({"query": [round(x, 6) for x in q], "limit": k, "params": {"hnsw_ef": ef}},
                               separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
