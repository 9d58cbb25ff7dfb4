"""What tests/multihost checks of a merge of several generators' results, whether
`rot13-load merge` made it (generators_test.sh) or rot13-bench did (bench_generators_test.sh):
the merged requests are the sum of the parts', the merged histogram is the parts' added
bucket by bucket, and the merged p99 lies in the bucket that holds its rank.
check(parts, merged) takes rot13-load results objects (or rot13-bench's per-generator
records: they have the same summary and histograms) and returns a list of failures."""

import math


def p99_bucket(buckets, count):
    """The [low, next low) bucket that holds HdrHistogram's p99 rank, 0.99 n rounded."""
    lows = sorted(buckets)
    rank, seen = max(1, int(0.99 * count + 0.5)), 0
    for i, low in enumerate(lows):
        seen += buckets[low]
        if seen >= rank:
            return low, lows[i + 1] if i + 1 < len(lows) else math.inf
    return None


def check(parts, merged):
    failures = []
    s = merged["summary"]
    if s["requests"] != sum(p["summary"]["requests"] for p in parts):
        failures.append("merged requests %d are not the sum of the parts' (%s)" % (
            s["requests"], " + ".join(str(p["summary"]["requests"]) for p in parts)))
    buckets = {}
    for p in parts:
        for low, n in p["histograms"]["corrected"]["buckets"]:
            buckets[low] = buckets.get(low, 0) + n
    if sorted(buckets.items()) != [tuple(b) for b in merged["histograms"]["corrected"]["buckets"]]:
        failures.append("the merged histogram is not the sum of the parts'")
    corrected = s["latency_ns"]["corrected"]
    bucket = p99_bucket(buckets, corrected["count"])
    reported = corrected["p99"]
    # The top of the bucket, capped at the max.
    if bucket is None or not (bucket[0] <= reported < bucket[1] or reported == corrected["max"]):
        failures.append("merged p99 %d is not in its bucket %s" % (reported, bucket))
    return failures
