#!/usr/bin/env python3
"""Server-side latency of one endpoint between two /metrics scrapes (Prometheus histogram).

metrics_quantiles.py BEFORE.txt AFTER.txt METHOD ENDPOINT -> "<requests> <p50 ms> <p99 ms>"
Quantiles are interpolated linearly inside buckets, as Prometheus' histogram_quantile does.
"""
import re
import sys

LINE = re.compile(r'^vecdex_http_request_duration_seconds_bucket\{method="([^"]*)",endpoint="([^"]*)",'
                  r'status="200",le="([^"]*)"\} (\d+)$')


def buckets(path, method, endpoint):
    out = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if m and m.group(1) == method and m.group(2) == endpoint:
                le = float("inf") if m.group(3) == "+Inf" else float(m.group(3))
                out[le] = out.get(le, 0) + int(m.group(4))
    return out


def quantile(q, cumulative):
    total = cumulative[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    prev_le, prev_count = 0.0, 0
    for le, count in cumulative:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_count) / max(1, count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def main():
    before = buckets(sys.argv[1], sys.argv[3], sys.argv[4])
    after = buckets(sys.argv[2], sys.argv[3], sys.argv[4])
    cumulative = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = cumulative[-1][1] if cumulative else 0
    if total == 0:
        print("0 nan nan")
        return
    print(f"{total} {quantile(0.5, cumulative) * 1000:.3f} {quantile(0.99, cumulative) * 1000:.3f}")


if __name__ == "__main__":
    main()
