// Windows 10 and later: the process affinity mask, the peak working set (psapi),
// GetProcessTimes, the registry for the CPU's name and RtlGetVersion for the system's
// (GetVersionEx reports 6.2 to any program without a compatibility manifest). There are no
// SIGPIPE, no per-process limit on sockets and no IP_BIND_ADDRESS_NO_PORT to deal with.
// Built and run here only as a cross-compiled program under Wine: see docs/loadgen.md.
#include <windows.h>
// psapi.h needs the types windows.h declares.
#include <psapi.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "loadgen/platform.hpp"

namespace loadgen {
namespace {

// A FILETIME duration counts 100 ns ticks.
double seconds(const FILETIME& t) {
    ULARGE_INTEGER ticks;
    ticks.LowPart = t.dwLowDateTime;
    ticks.HighPart = t.dwHighDateTime;
    return static_cast<double>(ticks.QuadPart) / 1e7;
}

std::string registry_string(const char* key, const char* value) {
    char text[256] = {};
    DWORD size = sizeof(text);
    if (::RegGetValueA(HKEY_LOCAL_MACHINE, key, value, RRF_RT_REG_SZ, nullptr, text, &size) != ERROR_SUCCESS)
        return "";
    return text;
}

// A function that ntdll.dll exports but the SDK's user-mode headers do not declare, or
// nullptr where this ntdll lacks it.
template <class FunctionPointer>
FunctionPointer ntdll_function(const char* name) {
    FARPROC f = ::GetProcAddress(::GetModuleHandleW(L"ntdll.dll"), name);
    // Through void (*)(): GCC's -Wcast-function-type accepts a cast from or to that type only.
    return reinterpret_cast<FunctionPointer>(reinterpret_cast<void (*)()>(f));
}

// "10.0.19045": major.minor.build, as the kernel reports it.
std::string kernel_version() {
    using rtl_get_version = LONG(WINAPI*)(OSVERSIONINFOW*);
    auto get = ntdll_function<rtl_get_version>("RtlGetVersion");
    OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof(v);
    if (!get || get(&v) != 0) return "";
    std::string text = std::to_string(v.dwMajorVersion) + "." + std::to_string(v.dwMinorVersion) + "." +
                       std::to_string(v.dwBuildNumber);
    // Wine's ntdll exports wine_get_version. Figures measured under Wine are Linux's
    // figures seen through Wine, not Windows' own, so the results' context says so.
    using wine_get_version = const char*(CDECL*)();
    if (auto wine = ntdll_function<wine_get_version>("wine_get_version"))
        text += std::string(" (Wine ") + wine() + ")";
    return text;
}

// The architecture under uname()'s names, so that results from every system compare.
std::string machine_architecture() {
    SYSTEM_INFO info{};
    ::GetNativeSystemInfo(&info);
    switch (info.wProcessorArchitecture) {
        case PROCESSOR_ARCHITECTURE_AMD64:
            return "x86_64";
        case PROCESSOR_ARCHITECTURE_ARM64:
            return "aarch64";
        case PROCESSOR_ARCHITECTURE_INTEL:
            return "i686";
        default:
            return "";
    }
}

}  // namespace

int allowed_cpus() {
    // The mask covers the process's processor group: at most 64 CPUs, which is also as
    // many as one process uses unless it asks for more groups.
    DWORD_PTR process_mask = 0, system_mask = 0;
    if (::GetProcessAffinityMask(::GetCurrentProcess(), &process_mask, &system_mask) && process_mask != 0)
        return std::popcount(static_cast<std::uint64_t>(process_mask));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// Windows 10 has SO_REUSE_UNICASTPORT for the same purpose; it is not used because no
// --source run was ever made on Windows to show that it behaves like Linux's option.
void defer_local_port(std::intptr_t) {}

long peak_rss_kb() {
    // The working set is the part of the process's memory that is resident: Windows' RSS.
    PROCESS_MEMORY_COUNTERS counters{};
    if (!::GetProcessMemoryInfo(::GetCurrentProcess(), &counters, sizeof(counters))) return 0;
    return static_cast<long>(counters.PeakWorkingSetSize / 1024);
}

// Winsock sockets are kernel objects, not C runtime descriptors: nothing caps them per
// process but memory, so there is no limit to raise (_setmaxstdio covers FILE* streams only).
void raise_open_file_limit() {}

open_file_limits open_file_limit() {
    return {};
}

// Windows keeps its listen backlog cap to itself (SOMAXCONN asks for "a reasonable maximum")
// and its dynamic port range in netsh's settings (49152-65535 unless changed): unknown.
std::optional<long> listen_backlog_cap() {
    return std::nullopt;
}

std::optional<port_range> ephemeral_ports() {
    return std::nullopt;
}

std::string cpu_model() {
    std::string name =
        registry_string(R"(HARDWARE\DESCRIPTION\System\CentralProcessor\0)", "ProcessorNameString");
    // Some CPUs pad their brand string with spaces.
    name.erase(0, std::min(name.size(), name.find_first_not_of(' ')));
    name.erase(name.find_last_not_of(' ') + 1);
    return name;
}

system_description describe_system() {
    system_description d;
    char host[256] = {};
    DWORD size = sizeof(host);
    if (::GetComputerNameExA(ComputerNameDnsHostname, host, &size)) d.host = host;
    d.os = "Windows";
    d.kernel = kernel_version();
    d.arch = machine_architecture();
    return d;
}

cpu_times process_cpu_times() {
    FILETIME created{}, exited{}, kernel{}, user{};
    if (!::GetProcessTimes(::GetCurrentProcess(), &created, &exited, &kernel, &user)) return {};
    return {seconds(user), seconds(kernel)};
}

void ignore_sigpipe() {}

bool stderr_is_terminal() {
    HANDLE err = ::GetStdHandle(STD_ERROR_HANDLE);
    DWORD mode = 0;
    if (err == INVALID_HANDLE_VALUE || !::GetConsoleMode(err, &mode)) return false;  // a file or a pipe
    if (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) return true;
    return ::SetConsoleMode(err, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING) != 0;
}

std::optional<command_output> run_command(const std::string& command_line) {
    std::FILE* pipe = ::_popen(command_line.c_str(), "r");
    if (!pipe) return std::nullopt;
    command_output out;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) out.text.append(buf, n);
    int status = ::_pclose(pipe);
    if (status == -1) return std::nullopt;
    // cmd.exe exits 9009 for a command it cannot find; the interface says 127, as sh does.
    out.status = status == 9009 ? 127 : status;
    return out;
}

void wait_for_stdin_to_close() {
    HANDLE in = ::GetStdHandle(STD_INPUT_HANDLE);
    if (in == INVALID_HANDLE_VALUE || in == nullptr) return;
    char buf[512];
    DWORD n = 0;
    // A pipe whose writer is gone fails with ERROR_BROKEN_PIPE; a file ends with 0 bytes.
    while (::ReadFile(in, buf, sizeof(buf), &n, nullptr) && n > 0) {
    }
}

}  // namespace loadgen
