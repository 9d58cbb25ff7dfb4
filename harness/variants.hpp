// The server variants of this build, as configure recorded them in build/servers.txt
// (name<TAB>built|skipped<TAB>backends,csv<TAB>cap-or-reason[<TAB>note]), and where their
// binaries are.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace harness {

struct variant_info {
    std::string name;  // e.g. "libevent-event"
    bool built = false;
    std::vector<std::string> backends;  // values of --backend; empty: the variant has none
    std::string cap;                    // a documented hard connection limit (built variants)
    std::string reason;                 // why it was not built, or why its binary is missing
    // How this build provides the variant when it is not the platform's own mechanism,
    // e.g. "libkqueue on Linux" (kqueue's API over epoll): its figures are not kqueue's, so
    // lists, results and charts show it after the name. Empty: the real thing.
    std::string note;
    std::filesystem::path binary;       // bin_dir/rot13-<name>

    // "kqueue (libkqueue on Linux)", or just the name.
    std::string shown_name() const { return note.empty() ? name : name + " (" + note + ")"; }
};

struct variant_table {
    std::filesystem::path bin_dir;
    std::vector<variant_info> variants;  // in configure's order

    const variant_info* find(const std::string& name) const;
    std::string names() const;  // "fork, select, ..." for error messages
};

// bin_dir/name with the OS's suffix for programs (".exe" on Windows).
std::filesystem::path program_path(const std::filesystem::path& bin_dir, const std::string& name);

// Whether file is a program this process can start: a regular file with an execute bit on
// POSIX; on Windows, which decides by the name's suffix, any regular file.
bool is_program(const std::filesystem::path& file);

// Reads bin_dir/../servers.txt. A variant recorded as built whose binary is missing is
// reported as not built, with that reason. Throws std::runtime_error if the file is missing.
variant_table load_variants(const std::filesystem::path& bin_dir);

}  // namespace harness
