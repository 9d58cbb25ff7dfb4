#include "harness/suite.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>

#include "harness/process.hpp"

namespace harness {

namespace {

// The most runs a suite may expand into (the full suite has 530): a typo such as
// "repetitions": 10000000 is refused instead of exhausting memory.
constexpr double max_runs = 100000;

// Fails on any key of `object` that is not in `known`, naming it and the keys allowed.
void check_keys(const json& object, const std::string& where, std::initializer_list<const char*> known) {
    for (const auto& item : object.items()) {
        if (std::find_if(known.begin(), known.end(), [&](const char* k) { return item.key() == k; }) !=
            known.end())
            continue;
        std::string expected;
        for (const char* k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
        throw suite_error(where + ": unknown key \"" + item.key() + "\" (expected one of: " + expected + ")");
    }
}

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

std::string path_of(const std::string& where, const std::string& key) {
    return where.empty() ? key : where + "." + key;
}

std::string shown(const json& value) {
    std::string text = value.dump();
    return text.size() > 60 ? text.substr(0, 57) + "..." : text;
}

long long integer_value(const json& value, const std::string& where, long long min) {
    if (!value.is_number_integer() || value.get<long long>() < min)
        throw suite_error(where + ": expected an integer >= " + std::to_string(min) + ", got " +
                          shown(value));
    return value.get<long long>();
}

double positive_number(const json& value, const std::string& where, bool zero_allowed) {
    if (!value.is_number() || !(zero_allowed ? value.get<double>() >= 0 : value.get<double>() > 0))
        throw suite_error(where + ": expected a number " + (zero_allowed ? ">= 0" : "> 0") + ", got " +
                          shown(value));
    return value.get<double>();
}

std::string string_value(const json& value, const std::string& where) {
    if (!value.is_string() || value.get<std::string>().empty())
        throw suite_error(where + ": expected a non-empty string, got " + shown(value));
    return value.get<std::string>();
}

std::vector<std::string> string_list(const json& value, const std::string& where) {
    if (!value.is_array()) throw suite_error(where + ": expected a list of strings, got " + shown(value));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < value.size(); ++i)
        out.push_back(string_value(value[i], where + "[" + std::to_string(i) + "]"));
    return out;
}

// A load field that is one value or a list of values: one run per value.
template <class Parse>
auto value_list(const json& load, const std::string& where, const char* key, Parse parse)
    -> std::vector<decltype(parse(json(), std::string()))> {
    const json& value = load.at(key);
    std::string at = path_of(where, key);
    std::vector<decltype(parse(json(), std::string()))> out;
    if (!value.is_array()) {
        out.push_back(parse(value, at));
        return out;
    }
    if (value.empty()) throw suite_error(at + ": the list is empty");
    for (std::size_t i = 0; i < value.size(); ++i)
        out.push_back(parse(value[i], at + "[" + std::to_string(i) + "]"));
    return out;
}

int int_in_range(const json& value, const std::string& where, long long min) {
    long long v = integer_value(value, where, min);
    if (v > 10'000'000) throw suite_error(where + ": " + std::to_string(v) + " is too large");
    return static_cast<int>(v);
}

// A server's name appears in run ids and file names.
std::string checked_name(const json& value, const std::string& where) {
    std::string name = string_value(value, where);
    if (name.find_first_of("/ \t\n\\") != std::string::npos || name == "all")
        throw suite_error(where + ": \"" + name + "\" must not contain '/', '\\' or spaces, nor be \"all\"");
    return name;
}

// A host of "hosts" (or of a generators list): a command prefix, the program there, its CPUs.
host_entry parse_host(const json& e, const std::string& where) {
    if (!e.is_object())
        throw suite_error(where + ": expected {\"command\": [...], \"program\": ..., \"cpus\": ...}");
    check_keys(e, where, {"command", "program", "cpus"});
    host_entry out;
    if (!e.contains("command"))
        throw suite_error(where + ": needs \"command\", the prefix that reaches the host");
    out.command = string_list(e["command"], where + ".command");
    if (out.command.empty()) throw suite_error(where + ".command: must not be empty");
    if (e.contains("program")) out.program = string_value(e["program"], where + ".program");
    if (e.contains("cpus")) out.cpus = string_value(e["cpus"], where + ".cpus");
    return out;
}

// The most generators one load may have: each is a process (and through ssh, a session).
constexpr int max_generators = 64;

// loads[].generators: N (that many on the load host) or a list, one entry per generator:
// {"label", "command", "program", "cpus"}, all optional; without "command" it runs here.
std::vector<generator_entry> parse_generators(const json& value, const std::string& where,
                                              const std::string& mode, const hosts& h) {
    if (mode == "knee")
        throw suite_error(where +
                          ": a knee search runs one generator (each probe is one run); "
                          "use \"mode\": \"open\" with a list of rates");
    std::vector<generator_entry> out;
    if (value.is_number_integer()) {
        const long long n = value.get<long long>();
        if (n < 1 || n > max_generators)
            throw suite_error(where + ": expected 1 to " + std::to_string(max_generators) +
                              " generators, got " + shown(value));
        out.resize(static_cast<std::size_t>(n), generator_entry{"", h.load, ""});
        return out;
    }
    if (!value.is_array())
        throw suite_error(where +
                          ": expected a number of generators or a list of hosts "
                          "([{\"command\": [...]}, {}]), got " +
                          shown(value));
    if (value.empty()) throw suite_error(where + ": the list is empty");
    if (value.size() > static_cast<std::size_t>(max_generators))
        throw suite_error(where + ": " + std::to_string(value.size()) + " generators, more than " +
                          std::to_string(max_generators));
    std::set<std::string> labels;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string at = where + "[" + std::to_string(i) + "]";
        const json& e = value[i];
        if (!e.is_object())
            throw suite_error(at +
                              ": expected a host ({\"command\": [...], \"program\": ..., \"cpus\": ..., "
                              "\"label\": ...}; {} for this machine), got " +
                              shown(e));
        check_keys(e, at, {"label", "command", "program", "cpus"});
        generator_entry g;
        if (e.contains("label")) {
            g.label = string_value(e["label"], at + ".label");
            if (!labels.insert(g.label).second)
                throw suite_error(at + ".label: \"" + g.label +
                                  "\" names another generator of this load too");
        }
        if (e.contains("command")) {
            json host = e;
            host.erase("label");
            g.host = parse_host(host, at);
        } else if (e.contains("program")) {
            throw suite_error(at + ".program: applies to a generator on another host (give \"command\")");
        } else if (e.contains("cpus")) {
            g.local_cpus = string_value(e["cpus"], at + ".cpus");
            try {
                parse_cpu_list(g.local_cpus);
            } catch (const std::invalid_argument& bad) {
                throw suite_error(at + ".cpus: " + bad.what());
            }
        }
        out.push_back(std::move(g));
    }
    return out;
}

// One entry of "servers" becomes one server_entry per backend (or one for a custom command).
void parse_server(const json& entry, const std::string& where, const variant_table& variants,
                  std::vector<server_entry>& out) {
    if (!entry.is_object()) throw suite_error(where + ": expected an object, got " + shown(entry));
    check_keys(entry, where, {"variant", "backends", "args", "name", "command"});
    if (entry.contains("command")) {
        if (entry.contains("variant") || entry.contains("backends") || entry.contains("args"))
            throw suite_error(where +
                              ": \"command\" cannot be combined with \"variant\", \"backends\" or \"args\"");
        if (!entry.contains("name")) throw suite_error(where + ": a \"command\" needs a \"name\"");
        server_entry s;
        s.label = checked_name(entry["name"], where + ".name");
        s.command = string_list(entry["command"], where + ".command");
        if (s.command.empty()) throw suite_error(where + ".command: the command is empty");
        if (std::none_of(s.command.begin(), s.command.end(),
                         [](const std::string& arg) { return arg.find("{port}") != std::string::npos; }))
            throw suite_error(where + ".command: no argument contains {port} (the harness picks the port)");
        out.push_back(std::move(s));
        return;
    }
    if (!entry.contains("variant")) throw suite_error(where + ": needs \"variant\" or \"command\"");
    std::string name = string_value(entry["variant"], where + ".variant");
    std::vector<std::string> args;
    if (entry.contains("args")) args = string_list(entry["args"], where + ".args");
    std::optional<std::vector<std::string>> backends;
    if (entry.contains("backends")) {
        backends = string_list(entry["backends"], where + ".backends");
        if (backends->empty()) throw suite_error(where + ".backends: the list is empty");
    }

    std::vector<const variant_info*> chosen;
    if (name == "all") {
        if (entry.contains("name")) throw suite_error(where + ".name: cannot name \"all\" variants");
        for (const auto& v : variants.variants)
            if (v.built) chosen.push_back(&v);
    } else {
        const variant_info* v = variants.find(name);
        if (!v)
            throw suite_error(where + ".variant: unknown variant \"" + name + "\" (known: all, " +
                              variants.names() + ")");
        if (backends && v->built && v->backends.empty())
            throw suite_error(where + ".backends: variant \"" + name + "\" has no --backend");
        chosen.push_back(v);
    }
    for (const variant_info* v : chosen) {
        server_entry s;
        s.variant = v->name;
        s.label = entry.contains("name") ? checked_name(entry["name"], where + ".name") : v->name;
        s.args = args;
        s.binary = v->binary;
        s.note = v->note;
        if (!v->built) s.skip_reason = "not built here: " + v->reason;
        if (v->backends.empty()) {
            out.push_back(std::move(s));
            continue;
        }
        // A variant with --backend runs once per backend: the suite's list, or all of them.
        for (const auto& backend : backends ? *backends : v->backends) {
            server_entry b = s;
            b.backend = backend;
            if (b.skip_reason.empty() &&
                std::find(v->backends.begin(), v->backends.end(), backend) == v->backends.end())
                b.skip_reason = "backend " + backend + " is not available here (" + v->name + " has " +
                                join(v->backends, ",") + ")";
            out.push_back(std::move(b));
        }
    }
}

// "epoll" matches the server labelled epoll; "libevent-event" all its backends;
// "libevent-event/poll" one of them.
bool server_matches(const server_entry& s, const std::string& name) {
    return name == s.label || (s.backend && name == s.label + "/" + *s.backend);
}

void parse_load(const json& load, const std::string& where, double duration_s, double warmup_s,
                const std::vector<server_entry>& servers, const hosts& h, std::vector<load_point>& out) {
    if (!load.is_object()) throw suite_error(where + ": expected an object, got " + shown(load));
    check_keys(load, where,
               {"mode", "connections", "depth", "rate", "idle", "size", "arrivals", "spin_us", "duration_s",
                "warmup_s", "servers", "p99_ms", "start_rate", "max_rate", "tolerance", "generators"});
    std::string mode = load.contains("mode") ? string_value(load["mode"], where + ".mode")
                                             : (load.contains("rate") ? "open" : "closed");
    if (mode != "closed" && mode != "open" && mode != "knee")
        throw suite_error(where + ".mode: expected \"closed\", \"open\" or \"knee\", got " + shown(load["mode"]));
    for (const char* key : {"p99_ms", "start_rate", "max_rate", "tolerance"})
        if (mode != "knee" && load.contains(key))
            throw suite_error(where + "." + key + ": applies to \"mode\": \"knee\" only");
    if (mode == "knee" && load.contains("rate"))
        throw suite_error(where + ".rate: a knee search chooses its own rates (start_rate, max_rate)");
    if (mode == "knee" && load.contains("depth"))
        throw suite_error(where + ".depth: applies to \"mode\": \"closed\" only");
    if (mode == "knee" && !load.contains("p99_ms"))
        throw suite_error(where + ": \"mode\": \"knee\" needs \"p99_ms\" (the latency target)");
    if (mode == "closed" && load.contains("rate"))
        throw suite_error(where + ".rate: applies to \"mode\": \"open\" only");
    for (const char* key : {"arrivals", "spin_us"})
        if (mode == "closed" && load.contains(key))
            throw suite_error(where + "." + key + ": applies to \"mode\": \"open\" only");
    if (mode == "open" && load.contains("depth"))
        throw suite_error(where + ".depth: applies to \"mode\": \"closed\" only");
    if (mode == "open" && !load.contains("rate"))
        throw suite_error(where + ": \"mode\": \"open\" needs \"rate\"");
    if (!load.contains("connections")) throw suite_error(where + ": needs \"connections\"");

    auto positive_int = [](const json& v, const std::string& at) { return int_in_range(v, at, 1); };
    auto natural_int = [](const json& v, const std::string& at) { return int_in_range(v, at, 0); };
    auto rate = [](const json& v, const std::string& at) { return positive_number(v, at, false); };
    auto connections = value_list(load, where, "connections", positive_int);
    std::vector<int> depths{1};
    if (load.contains("depth")) depths = value_list(load, where, "depth", positive_int);
    std::vector<double> rates{0};
    if (load.contains("rate")) rates = value_list(load, where, "rate", rate);
    std::vector<int> idles{0};
    if (load.contains("idle")) idles = value_list(load, where, "idle", natural_int);
    std::vector<int> sizes{16};
    if (load.contains("size")) sizes = value_list(load, where, "size", natural_int);

    load_point base;
    if (load.contains("servers")) {
        base.servers = string_list(load["servers"], where + ".servers");
        // A typo is an error; a backend this platform lacks ("libevent-event/kqueue" on
        // Linux) is not, so that one suite serves every OS.
        for (std::size_t i = 0; i < base.servers.size(); ++i) {
            std::string label = base.servers[i].substr(0, base.servers[i].find('/'));
            if (std::none_of(servers.begin(), servers.end(),
                             [&](const server_entry& s) { return s.label == label; }))
                throw suite_error(where + ".servers[" + std::to_string(i) + "]: no server \"" + label +
                                  "\" in this suite (name a server's variant or name, or VARIANT/BACKEND)");
        }
    }
    base.mode = mode;
    if (load.contains("generators"))
        base.generators = parse_generators(load["generators"], where + ".generators", mode, h);
    base.duration_s = duration_s;
    base.warmup_s = warmup_s;
    if (load.contains("duration_s")) {
        base.duration_s = positive_number(load["duration_s"], where + ".duration_s", false);
        base.timing_overridden = true;
    }
    if (load.contains("warmup_s")) {
        base.warmup_s = positive_number(load["warmup_s"], where + ".warmup_s", true);
        base.timing_overridden = true;
    }
    if (mode == "knee") {
        knee_search k;
        k.p99_ms = positive_number(load["p99_ms"], where + ".p99_ms", false);
        if (load.contains("start_rate")) k.start_rate = positive_number(load["start_rate"], where + ".start_rate", false);
        if (load.contains("max_rate")) k.max_rate = positive_number(load["max_rate"], where + ".max_rate", false);
        if (load.contains("tolerance")) k.tolerance = positive_number(load["tolerance"], where + ".tolerance", false);
        if (k.max_rate < k.start_rate) throw suite_error(where + ".max_rate: below start_rate");
        if (k.tolerance >= 1) throw suite_error(where + ".tolerance: expected a fraction below 1, e.g. 0.05");
        base.knee = k;
    }
    if (mode == "open" || mode == "knee") {
        base.arrivals =
            load.contains("arrivals") ? string_value(load["arrivals"], where + ".arrivals") : "uniform";
        if (base.arrivals != "uniform" && base.arrivals != "poisson")
            throw suite_error(where + ".arrivals: expected \"uniform\" or \"poisson\", got " +
                              shown(load["arrivals"]));
        if (load.contains("spin_us")) base.spin_us = positive_number(load["spin_us"], where + ".spin_us", true);
    }
    // A list in each field multiplies: refuse a product no one means before building it.
    const double points = static_cast<double>(connections.size()) * static_cast<double>(depths.size()) *
                          static_cast<double>(rates.size()) * static_cast<double>(idles.size()) *
                          static_cast<double>(sizes.size());
    if (static_cast<double>(out.size()) + points > max_runs)
        throw suite_error(where + ": expands into " + format_number(points) + " load points, more than " +
                          format_number(max_runs) + " with the loads before it");
    for (int c : connections)
        for (int d : depths)
            for (double r : rates)
                for (int i : idles)
                    for (int s : sizes) {
                        load_point p = base;
                        p.connections = c;
                        p.idle = i;
                        p.size = s;
                        if (mode == "closed")
                            p.depth = d;
                        else if (mode == "open")
                            p.rate = r;
                        out.push_back(p);
                    }
}

std::string server_key(const server_entry& s) {
    return s.backend ? s.label + "+" + *s.backend : s.label;
}

// Eight hex digits of FNV-1a over where a load's generators run (labels, host commands,
// programs, CPUs): two loads with as many generators placed differently get different run
// ids, while a plain "generators": N here (all alike, unlabelled) needs none.
std::string placement_digest(const std::vector<generator_entry>& generators) {
    std::uint32_t h = 2166136261u;
    auto add = [&h](const std::string& text) {
        for (unsigned char ch : text + '\0') h = (h ^ ch) * 16777619u;
    };
    for (const generator_entry& g : generators) {
        add(g.label);
        add(g.local_cpus);
        if (!g.host) continue;
        for (const std::string& word : g.host->command) add(word);
        add(g.host->program);
        add(g.host->cpus);
    }
    char buf[9];
    std::snprintf(buf, sizeof(buf), "%08x", h);
    return buf;
}

bool placed_individually(const std::vector<generator_entry>& generators) {
    return std::any_of(generators.begin(), generators.end(), [](const generator_entry& g) {
        return !g.label.empty() || g.host || !g.local_cpus.empty();
    });
}

std::string load_key(const load_point& p) {
    std::string key = p.mode + "-c" + std::to_string(p.connections);
    if (p.depth) key += "-d" + std::to_string(*p.depth);
    if (p.rate) key += "-rate" + format_number(*p.rate);
    if (p.knee) key += "-p99ms" + format_number(p.knee->p99_ms);
    if (p.arrivals == "poisson") key += "-poisson";
    if (p.spin_us > 0) key += "-spin" + format_number(p.spin_us);
    key += "-idle" + std::to_string(p.idle) + "-s" + std::to_string(p.size);
    if (p.timing_overridden) key += "-t" + format_number(p.duration_s) + "+" + format_number(p.warmup_s);
    if (!p.generators.empty()) key += "-g" + std::to_string(p.generators.size());
    if (placed_individually(p.generators)) key += "-" + placement_digest(p.generators);
    return key;
}

}  // namespace

std::string format_number(double value) {
    char buf[32];
    if (value == std::floor(value) && std::fabs(value) < 1e15) {
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<long long>(value));
        return std::string(buf, end);
    }
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return std::string(buf, end);
}

std::string shown_name(const server_entry& s) {
    std::string name = s.backend ? s.label + "/" + *s.backend : s.label;
    return s.note.empty() ? name : name + " (" + s.note + ")";
}

void default_generators(suite& s, int n) {
    for (auto& load : s.loads)
        if (load.generators.empty() && !load.knee)
            load.generators.resize(static_cast<std::size_t>(n), generator_entry{"", s.hosts.load, ""});
}

std::string describe_load(const load_point& p) {
    std::string text = p.mode + " c=" + std::to_string(p.connections);
    if (p.depth && *p.depth != 1) text += " d=" + std::to_string(*p.depth);
    if (p.rate) text += " rate=" + format_number(*p.rate) + (p.arrivals == "poisson" ? " poisson" : "");
    if (p.knee) text += " p99<" + format_number(p.knee->p99_ms) + "ms" + (p.arrivals == "poisson" ? " poisson" : "");
    if (p.spin_us > 0) text += " spin=" + format_number(p.spin_us) + "us";
    if (p.idle) text += " idle=" + std::to_string(p.idle);
    if (p.size != 16) text += " size=" + std::to_string(p.size);
    if (!p.generators.empty()) text += " x" + std::to_string(p.generators.size()) + " generators";
    return text;
}

suite parse_suite(const json& j, const variant_table& variants) {
    if (!j.is_object()) throw suite_error("the suite must be a JSON object");
    check_keys(j, "suite",
               {"name", "description", "duration_s", "warmup_s", "repetitions", "seed", "precision", "hosts", "servers",
                "loads"});
    suite s;
    s.source = j;
    if (!j.contains("name")) throw suite_error("suite: needs \"name\"");
    s.name = string_value(j["name"], "name");
    if (s.name.find_first_of("/\\ \t\n") != std::string::npos)
        throw suite_error("name: must not contain '/', '\\' or spaces (it names the results directory)");
    if (j.contains("description")) string_value(j["description"], "description");
    double duration_s =
        j.contains("duration_s") ? positive_number(j["duration_s"], "duration_s", false) : 2.0;
    double warmup_s = j.contains("warmup_s") ? positive_number(j["warmup_s"], "warmup_s", true) : 0.5;
    if (j.contains("repetitions")) s.repetitions = int_in_range(j["repetitions"], "repetitions", 1);
    if (j.contains("seed")) {
        // Any 64-bit value: the harness records random seeds of the full range.
        if (!j["seed"].is_number_unsigned())
            throw suite_error("seed: expected an integer >= 0, got " + shown(j["seed"]));
        s.seed = j["seed"].get<std::uint64_t>();
    }

    if (j.contains("hosts")) {
        const json& h = j["hosts"];
        if (!h.is_object()) throw suite_error("hosts: expected {\"server\": {...}, \"load\": {...}, \"address\": ...}");
        check_keys(h, "hosts", {"server", "load", "address"});
        if (h.contains("server")) s.hosts.server = parse_host(h["server"], "hosts.server");
        if (h.contains("load")) s.hosts.load = parse_host(h["load"], "hosts.load");
        if (h.contains("address")) s.hosts.address = string_value(h["address"], "hosts.address");
    }
    if (j.contains("precision")) {
        const json& p = j["precision"];
        if (!p.is_object()) throw suite_error("precision: expected {\"percent\": P, \"budget_s\": S}");
        check_keys(p, "precision", {"percent", "budget_s"});
        if (!p.contains("percent")) throw suite_error("precision: needs \"percent\"");
        s.precision_percent = positive_number(p["percent"], "precision.percent", false);
        if (p.contains("budget_s")) s.precision_budget_s = positive_number(p["budget_s"], "precision.budget_s", false);
    }

    if (!j.contains("servers") || !j["servers"].is_array() || j["servers"].empty())
        throw suite_error("servers: needs a non-empty list of servers");
    for (std::size_t i = 0; i < j["servers"].size(); ++i)
        parse_server(j["servers"][i], "servers[" + std::to_string(i) + "]", variants, s.servers);
    if (s.servers.empty()) throw suite_error("servers: no server variant is built here");
    if (!j.contains("loads") || !j["loads"].is_array() || j["loads"].empty())
        throw suite_error("loads: needs a non-empty list of loads");
    for (std::size_t i = 0; i < j["loads"].size(); ++i)
        parse_load(j["loads"][i], "loads[" + std::to_string(i) + "]", duration_s, warmup_s, s.servers,
                   s.hosts, s.loads);
    const double runs = static_cast<double>(s.servers.size()) * static_cast<double>(s.loads.size()) * s.repetitions;
    if (runs > max_runs)
        throw suite_error("suite: " + format_number(runs) + " runs (servers x loads x repetitions), more than " +
                          format_number(max_runs) + ": split it");
    return s;
}

suite load_suite(const std::filesystem::path& file, const variant_table& variants) {
    std::ifstream in(file);
    if (!in) throw suite_error(file.string() + ": cannot read the file");
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    json j;
    try {
        j = json::parse(content);
    } catch (const json::parse_error& e) {
        // Turn nlohmann's byte offset into line:column, which editors understand.
        std::size_t offset = std::min<std::size_t>(e.byte > 0 ? e.byte - 1 : 0, content.size());
        std::size_t line =
            1 + static_cast<std::size_t>(
                    std::count(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
        std::size_t line_start = content.rfind('\n', offset == 0 ? 0 : offset - 1);
        std::size_t column = line_start == std::string::npos ? offset + 1 : offset - line_start;
        throw suite_error(file.string() + ":" + std::to_string(line) + ":" + std::to_string(column) +
                          ": invalid JSON: " + e.what());
    } catch (const json::exception& e) {  // e.g. a number out of range (1e400)
        throw suite_error(file.string() + ": invalid JSON: " + e.what());
    }
    try {
        return parse_suite(j, variants);
    } catch (const suite_error& e) {
        throw suite_error(file.string() + ": " + e.what());
    }
}

std::vector<run_config> expand(const suite& s) {
    std::vector<run_config> runs;
    std::map<std::string, std::string> seen;  // cell -> where it came from
    for (std::size_t si = 0; si < s.servers.size(); ++si) {
        for (std::size_t li = 0; li < s.loads.size(); ++li) {
            const auto& only = s.loads[li].servers;
            if (!only.empty() && std::none_of(only.begin(), only.end(), [&](const std::string& name) {
                    return server_matches(s.servers[si], name);
                }))
                continue;
            std::string cell = server_key(s.servers[si]) + "/" + load_key(s.loads[li]);
            if (!seen.emplace(cell, "").second)
                throw suite_error("the run " + cell +
                                  " appears twice (give one of the servers a different \"name\")");
            for (int rep = 1; rep <= s.repetitions; ++rep) {
                run_config r;
                r.cell = cell;
                r.id = cell + "/rep" + std::to_string(rep);
                r.server_index = si;
                r.load_index = li;
                r.server = s.servers[si];
                r.load = s.loads[li];
                r.repetition = rep;
                runs.push_back(std::move(r));
            }
        }
    }
    return runs;
}

namespace {

// SplitMix64: small, and the same seed gives the same order on every platform and
// standard library (std::shuffle's algorithm is unspecified).
struct splitmix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
};

}  // namespace

std::vector<run_config> interleave(std::vector<run_config> runs, std::uint64_t seed) {
    splitmix64 rng{seed};
    int max_rep = 0;
    for (const auto& r : runs) max_rep = std::max(max_rep, r.repetition);
    std::vector<run_config> order;
    order.reserve(runs.size());
    for (int rep = 1; rep <= max_rep; ++rep) {
        std::vector<run_config> round;
        for (const auto& r : runs)
            if (r.repetition == rep) round.push_back(r);
        for (std::size_t i = round.size(); i > 1; --i)  // Fisher-Yates
            std::swap(round[i - 1], round[rng.next() % i]);
        for (auto& r : round) order.push_back(std::move(r));
    }
    return order;
}

}  // namespace harness
