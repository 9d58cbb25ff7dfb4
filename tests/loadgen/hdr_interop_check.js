// Reads a rot13-load --hdr-log file with HdrHistogram's own JavaScript implementation
// (hdr-histogram-js, from npm) and checks that it finds what rot13-load's JSON reports:
// the same number of lines, the same percentiles, the same maximum to within one bucket.
// Usage: node hdr_interop_check.js RUN.hlog RUN.json   (NODE_PATH: where the package is)
"use strict";
const hdr = require("hdr-histogram-js");
const fs = require("fs");

const [logPath, jsonPath] = process.argv.slice(2);
const reader = new hdr.HistogramLogReader(fs.readFileSync(logPath, "utf8"));
const totals = {};
let intervals = 0;
for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
  intervals++;
  totals[h.tag] ??= hdr.build({ bitBucketSize: 64, numberOfSignificantValueDigits: 3 });
  totals[h.tag].add(h);
}
const results = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
let failures = 0;
function check(what, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}: ${detail}`);
  if (!ok) failures++;
}
check("intervals", intervals >= 2, `${intervals} interval histograms read`);
for (const tag of ["corrected", "uncorrected"]) {
  const theirs = totals[tag];
  const ours = results.summary.latency_ns[tag];
  if (!theirs) {
    check(tag, false, "no histogram with this tag in the log");
    continue;
  }
  check(`${tag} count`, theirs.totalCount === results.summary.requests,
        `HdrHistogram ${theirs.totalCount}, rot13-load ${results.summary.requests} lines`);
  for (const [p, key] of [[50, "p50"], [90, "p90"], [99, "p99"], [99.9, "p999"]]) {
    const v = theirs.getValueAtPercentile(p);
    check(`${tag} ${key}`, v === ours[key], `HdrHistogram ${v} ns, rot13-load ${ours[key]} ns`);
  }
  // HdrHistogram keeps a bucket's value, not the exact maximum that rot13-load keeps: the
  // two must fall in the same bucket (3 significant digits: at most 1/1024 of the value).
  const top = theirs.maxValue;
  check(`${tag} max`, theirs.lowestEquivalentValue(top) === theirs.lowestEquivalentValue(ours.max),
        `HdrHistogram ${top} ns, rot13-load ${ours.max} ns (exact): same bucket ` +
        `[${theirs.lowestEquivalentValue(ours.max)}, ${theirs.highestEquivalentValue(ours.max)}]`);
}
process.exit(failures ? 1 : 0);
