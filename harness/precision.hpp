// Repetitions until the interval is tight (rot13-bench run --precision P --budget S).
//
// After a suite's planned repetitions, each configuration (a cell: one server at one load)
// whose 95 % interval of the median server CPU per line, or of the median lines/s, reaches
// further than ±P % from the median gets one more repetition; those repetitions run as one
// more interleaved round, in an order shuffled from the seed, and the check is made again,
// until every configuration is within ±P % or S seconds of extra rounds are spent.
//
// The interval is distribution-free: the order statistics X(j) and X(n+1-j) of the n
// ok runs, with j the largest rank for which P(Binomial(n, 1/2) < j) <= 2.5 %, cover the
// true median with at least 95 % whatever the distribution of the runs (no bootstrap, no
// random draw, the same answer on every machine). It needs n >= 6 runs: with 5, even the
// smallest and the largest cover the median only 93.75 % of the time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/suite.hpp"

namespace harness {

// The median of values and its 95 % interval, with the interval's reach from the median
// in percent: max(median - low, high - median) / median * 100. No interval (nullopt
// bounds) for fewer than 6 values.
struct median_interval {
    double median = 0;
    std::optional<double> low, high;
    std::optional<double> half_width_percent;
    std::size_t n = 0;
};
median_interval median_with_interval(std::vector<double> values);

// The state of one configuration after the runs so far.
struct cell_precision {
    std::string cell;
    int repetitions = 0;     // runs recorded
    int ok = 0;              // of them, ok
    int last_repetition = 0;
    median_interval cpu_us_per_line;
    median_interval lines_per_s;
    // Within ±P % on both figures. A cell without ok runs never is, and is given no more
    // repetitions: a failure is not noise.
    bool within(double percent) const;
};

// Every cell of runs (suite order) with what the results' runs (by id) say about it.
// Skipped configurations are left out.
std::vector<cell_precision> assess(const std::vector<run_config>& runs, const json& recorded_runs);

// The next round: one more repetition of each cell that is not within ±percent and has at
// least one ok run, shuffled with seed. Empty when every cell is within.
std::vector<run_config> next_round(const std::vector<run_config>& runs, const std::vector<cell_precision>& cells,
                                   double percent, std::uint64_t seed);

// The results' "precision" object (docs/results-schema.md).
json precision_json(const std::vector<cell_precision>& cells, double percent, double budget_s, double spent_s,
                    int rounds, const std::string& stopped);

// "epoll closed c=10: 7 runs, CPU/line ±2.1 %, lines/s ±1.4 %" for the progress lines.
std::string describe(const cell_precision& cell);

}  // namespace harness
