// A time as ISO 8601 in UTC, e.g. "2024-05-01T12:00:00Z", for the results' context and the
// HdrHistogram log's header.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace loadgen {

// The C++20 calendar does what gmtime_r() and strftime() would, on every system (Windows
// has no gmtime_r): system_clock counts from the Unix epoch and, like gmtime, ignores
// leap seconds.
inline std::string utc_iso8601(std::chrono::sys_seconds t) {
    using namespace std::chrono;
    sys_days midnight = floor<days>(t);
    year_month_day date{midnight};
    hh_mm_ss time{t - midnight};
    char text[32];
    std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                  static_cast<int>(time.seconds().count()));
    return text;
}

}  // namespace loadgen
