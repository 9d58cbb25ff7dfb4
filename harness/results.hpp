// The suite's results file, DIR/results.json (docs/results.schema.json):
//   { "schema_version": 1, "suite": {...as run, "seed", "order"}, "context": {...},
//     "runs": [ {...}, ... ] }
// It is rewritten whole after every run, atomically (a temporary file, fsync, rename),
// so an interrupted suite, a crash of the harness or a power cut keeps every finished
// run, and `--resume` continues from it. One writer: this class.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "harness/suite.hpp"

namespace harness {

inline constexpr int results_schema_version = 1;

class results_file {
public:
    explicit results_file(std::filesystem::path dir);

    const std::filesystem::path& path() const { return path_; }
    bool exists() const;

    // A new suite: the document with no runs yet, written at once.
    void start(json suite_as_run, json context);

    // An interrupted suite: reads the file back. Throws std::runtime_error if it is
    // unreadable or was written by another schema version.
    void load();

    const json& document() const { return doc_; }
    json& document() { return doc_; }

    // Ids of the runs already recorded (ok, failed or skipped): --resume skips them.
    std::set<std::string> recorded_ids() const;

    // Appends a run and rewrites the file.
    void add_run(json run);

    // Writes the file atomically. Throws std::system_error on an I/O error.
    void write() const;

private:
    std::string render() const;

    std::filesystem::path dir_;
    std::filesystem::path path_;
    json doc_;
};

}  // namespace harness
