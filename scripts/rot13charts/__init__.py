"""Charts, statistics and reports from rot13-bench results files.

The package behind scripts/report and scripts/compare (docs/charts.md):

  results     read and check a results file; runs, cells (one configuration, all its
              repetitions), families (cells that differ in one load parameter)
  stats       median with a 95% bootstrap interval, ratio intervals, the claims rule
  metrics     the figures (throughput, p50, p99, CPU per line, RSS per connection): how
              each is read from a run, its thresholds, its format; a cell's estimate
  plotting    matplotlib (Agg) setup, one style per server, PNG + SVG output, annotations
  throughput  throughput against connections, line size or depth
  latency     p99 against a load parameter, percentile spectrum, latency vs offered load
  idle        idle-connection scaling
  efficiency  server CPU per line, RSS per connection
  knee        knee searches (mode "knee"): their tables, knee rates and probes
  machine     what the whole machine did during each load: steal, interrupts, context switches
  markdown    table cells and tables
  precision   what rot13-bench run --precision did: its rounds, intervals and why it stopped
  report      report.md for one results file
  compare     compare.md for two results files
  cli         the command lines, their errors and exit codes
"""
