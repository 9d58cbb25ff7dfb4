#include "harness/results.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/durable_file.hpp"

namespace harness {

namespace fs = std::filesystem;

results_file::results_file(fs::path dir) : dir_(std::move(dir)), path_(dir_ / "results.json") {}

bool results_file::exists() const {
    return fs::exists(path_);
}

void results_file::start(json suite_as_run, json context) {
    doc_ = json::object();
    doc_["schema_version"] = results_schema_version;
    doc_["suite"] = std::move(suite_as_run);
    doc_["context"] = std::move(context);
    doc_["runs"] = json::array();
    write();
}

void results_file::load() {
    std::ifstream in(path_);
    if (!in) throw std::runtime_error("cannot read " + path_.string());
    try {
        doc_ = json::parse(in);
    } catch (const json::exception& e) {
        throw std::runtime_error(path_.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!doc_.is_object() || doc_.value("schema_version", 0) != results_schema_version ||
        !doc_.contains("suite") || !doc_.contains("runs") || !doc_["runs"].is_array())
        throw std::runtime_error(path_.string() + ": not a results file of schema version " +
                                 std::to_string(results_schema_version));
}

std::set<std::string> results_file::recorded_ids() const {
    std::set<std::string> ids;
    for (const auto& run : doc_.at("runs")) ids.insert(run.at("id").get<std::string>());
    return ids;
}

void results_file::add_run(json run) {
    doc_["runs"].push_back(std::move(run));
    write();
}

// The context indented for people; the suite and each run on one line of its own, so
// that the file stays small (histograms have hundreds of buckets), diffs show whole
// runs, and `grep`/`jq -c` work line by line.
std::string results_file::render() const {
    std::string text = "{\"schema_version\": " + doc_["schema_version"].dump() + ",\n";
    for (const auto& [key, value] : doc_.items()) {
        if (key == "schema_version" || key == "runs") continue;
        text += json(key).dump() + ": " + (key == "context" ? value.dump(1) : value.dump()) + ",\n";
    }
    text += "\"runs\": [";
    const json& runs = doc_["runs"];
    for (std::size_t i = 0; i < runs.size(); ++i) text += (i ? ",\n" : "\n") + runs[i].dump();
    text += runs.empty() ? "]}\n" : "\n]}\n";
    return text;
}

void results_file::write() const {
    replace_file_durably(path_, render());
}

}  // namespace harness
