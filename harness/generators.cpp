#include "harness/generators.hpp"

#include <algorithm>
#include <memory>
#include <thread>

#include "common/signals.hpp"
#include "loadgen/platform.hpp"
#include "loadgen/results.hpp"

namespace harness {

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The last word of a prefix that is not an option: the host of ["ssh", "-o", "BatchMode=yes",
// "bench@h1"] (without "bench@"), the namespace of ["ip", "netns", "exec", "ns1"], the pod
// of ["kubectl", "exec", "-i", "pod", "--"].
std::string host_name(const host_entry& host) {
    for (auto word = host.command.rbegin(); word != host.command.rend(); ++word) {
        if (word->empty() || word->front() == '-') continue;
        const std::size_t at = word->find('@');
        return at == std::string::npos ? *word : word->substr(at + 1);
    }
    return "host";
}

std::string joined(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

}  // namespace

std::vector<generator_plan> plan_generators(const load_point& load, const std::vector<int>& load_cpus) {
    const std::string here = loadgen::describe_system().host;
    std::vector<generator_plan> plans;
    for (std::size_t i = 0; i < load.generators.size(); ++i) {
        const generator_entry& g = load.generators[i];
        generator_plan p;
        p.host = g.host;
        p.label = !g.label.empty() ? g.label
                                   : (g.host ? host_name(*g.host) : (here.empty() ? "local" : here)) + "-" +
                                         std::to_string(i + 1);
        if (!g.host) p.cpus = g.local_cpus.empty() ? load_cpus : parse_cpu_list(g.local_cpus);
        plans.push_back(std::move(p));
    }
    return plans;
}

reach_result reach_hosts(const std::vector<generator_plan>& plans,
                         const std::vector<std::filesystem::path>& logs, std::chrono::milliseconds timeout) {
    reach_result r;
    r.unreachable.resize(plans.size());
    struct attempt {
        std::size_t index;
        std::vector<std::string> argv;
        std::unique_ptr<child_process> child;
        std::optional<double> took_s;
    };
    std::vector<attempt> attempts;
    const auto t0 = clock_type::now();
    // All at once: a run with many hosts waits for the slowest, not for their sum.
    for (std::size_t i = 0; i < plans.size(); ++i) {
        if (!plans[i].host) continue;
        std::vector<std::string> argv = plans[i].host->command;
        argv.push_back("true");
        auto child = std::make_unique<child_process>(spawn_options{argv, {}, false, false, logs.at(i)});
        attempts.push_back({i, std::move(argv), std::move(child), std::nullopt});
    }
    const auto deadline = t0 + timeout;
    auto waiting = [&] {
        return std::any_of(attempts.begin(), attempts.end(), [](const attempt& a) { return !a.took_s; });
    };
    while (waiting() && clock_type::now() < deadline && !rot13::stop_requested()) {
        for (auto& a : attempts)
            if (!a.took_s && a.child->poll_exit())
                a.took_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (waiting()) std::this_thread::sleep_for(5ms);
    }
    for (auto& a : attempts) {
        std::string& why = r.unreachable[a.index];
        if (!a.took_s) {
            a.child->kill_and_reap();  // bounded: a host that does not answer is not waited for
            why = "its host did not answer `" + joined(a.argv) + "` within " +
                  format_number(static_cast<double>(timeout.count()) / 1000) + " s";
        } else if (!a.child->exited()->exited_zero()) {
            why = "its host is unreachable: `" + joined(a.argv) + "` ended with " +
                  a.child->exited()->describe() +
                  (a.child->exec_error().empty() ? "" : " (" + a.child->exec_error() + ")");
        } else {
            r.slowest_s = std::max(r.slowest_s, *a.took_s);
        }
    }
    return r;
}

double start_lead_s(double slowest_start_s, const load_point& load) {
    // 1.5 s for the processes to start and connect, three times the slowest prefix for a
    // start through it that is slower than the one measured, and half a millisecond per
    // connection to open before the start.
    return 1.5 + 3 * slowest_start_s + (load.connections + load.idle) / 2000.0;
}

double epoch_now_s() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void record_generators(const std::vector<generator_result>& generators, json& record,
                       std::vector<std::string>& failures) {
    json list = json::array();
    std::vector<nlohmann::json> inputs;
    loadgen::merge_options names;
    for (const generator_result& g : generators) {
        json entry = {{"label", g.label},
                      {"command", g.command},
                      {"exit", g.exit ? json(g.exit->describe()) : json(nullptr)},
                      {"status", g.failure.empty() ? "ok" : "failed"},
                      {"reason", g.failure.empty() ? json(nullptr) : json(g.failure)}};
        for (const char* key : {"context", "config", "summary", "histograms", "timeseries", "loadgen"})
            entry[key] = g.result.is_object() && g.result.contains(key) ? g.result[key] : json(nullptr);
        list.push_back(std::move(entry));
        if (!g.failure.empty()) failures.push_back("generator " + g.label + ": " + g.failure);
        if (g.result.is_object() && g.result.contains("summary") && g.result["summary"].is_object()) {
            inputs.emplace_back(g.result);
            names.names.push_back(g.label);
        }
    }
    record["generators"] = std::move(list);
    record["merge"] = nullptr;
    if (inputs.empty()) {
        failures.push_back("no generator wrote results: nothing to merge");
        return;
    }
    try {
        const json merged(loadgen::merge_results(inputs, names));
        for (const char* key : {"summary", "histograms", "timeseries", "loadgen"}) record[key] = merged[key];
        record["merge"] = merged["merge"];
    } catch (const std::exception& e) {
        // A generator that ended early (its link cut) shortens its window: the merge refuses
        // it, and each generator's own figures are all the run has.
        failures.push_back(std::string("merge of ") + std::to_string(inputs.size()) +
                           " generators: " + e.what());
    }
}

}  // namespace harness
