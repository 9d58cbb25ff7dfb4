#include "harness/variants.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "harness/process.hpp"

namespace harness {

namespace fs = std::filesystem;

const variant_info* variant_table::find(const std::string& name) const {
    for (const auto& v : variants)
        if (v.name == name) return &v;
    return nullptr;
}

std::string variant_table::names() const {
    std::string out;
    for (const auto& v : variants) out += (out.empty() ? "" : ", ") + v.name;
    return out;
}

fs::path program_path(const fs::path& bin_dir, const std::string& name) {
    return bin_dir / (name + executable_suffix());
}

bool is_program(const fs::path& file) {
    std::error_code ec;
    if (!executable_suffix().empty()) return fs::is_regular_file(file, ec);
    return fs::is_regular_file(file, ec) &&
           (fs::status(file, ec).permissions() & (fs::perms::owner_exec | fs::perms::group_exec |
                                                  fs::perms::others_exec)) != fs::perms::none;
}

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(text);
    while (std::getline(in, field, separator)) fields.push_back(field);
    if (!text.empty() && text.back() == separator) fields.emplace_back();
    return fields;
}

}  // namespace

variant_table load_variants(const fs::path& bin_dir) {
    variant_table table;
    table.bin_dir = bin_dir;
    fs::path list = bin_dir.parent_path() / "servers.txt";
    std::ifstream in(list);
    if (!in)
        throw std::runtime_error("cannot read " + list.string() +
                                 " (written when cmake configures the build)");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto fields = split(line, '\t');
        fields.resize(5);
        variant_info v;
        v.name = fields[0];
        v.built = fields[1] == "built";
        if (!fields[2].empty()) v.backends = split(fields[2], ',');
        (v.built ? v.cap : v.reason) = fields[3];
        if (v.built) v.note = fields[4];
        v.binary = program_path(bin_dir, "rot13-" + v.name);
        if (v.built && !is_program(v.binary)) {
            v.built = false;
            v.reason = "configured but " + v.binary.string() + " is missing (build it first)";
        }
        table.variants.push_back(std::move(v));
    }
    return table;
}

}  // namespace harness
