// The process layer on Windows (harness/process.hpp).
//
// What POSIX does with a process group, Windows does with two objects:
//   - a job object, created with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: the child and everything
//     it starts belong to it, TerminateJobObject() kills them all, and when the harness dies,
//     however it dies, the kernel closes the job's last handle and kills them too;
//   - a console process group (CREATE_NEW_PROCESS_GROUP): GenerateConsoleCtrlEvent
//     (CTRL_BREAK_EVENT, pid) is the graceful stop, the counterpart of SIGTERM, which the
//     servers catch (common/signals_windows.cpp). rot13-load is stopped by closing its stdin.
// The child is created suspended, pinned with SetProcessAffinityMask, put in the job, and
// only then resumed, so that not one instruction of it runs unpinned or outside the job.
//
// Its CPU time comes from GetProcessTimes() and its memory from GetProcessMemoryInfo(),
// for the child process itself: none of the Windows servers starts processes (there is no
// fork server on Windows), so the child is the whole server.
#include <windows.h>
#include <psapi.h>

#include <algorithm>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "harness/process.hpp"
#include "harness/process_os.hpp"

namespace harness {

namespace {

[[noreturn]] void throw_last_error(const std::string& what) {
    throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(), what);
}

std::string error_text(DWORD error) {
    return std::system_category().message(static_cast<int>(error));
}

// Closes a handle once.
void close_handle(HANDLE& h) {
    if (h && h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
    h = nullptr;
}

double seconds(const FILETIME& t) {  // FILETIME counts 100 ns
    ULARGE_INTEGER v;
    v.LowPart = t.dwLowDateTime;
    v.HighPart = t.dwHighDateTime;
    return static_cast<double>(v.QuadPart) / 1e7;
}

std::wstring widen(const std::string& text) {
    if (text.empty()) return {};
    int n = ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
    std::wstring wide(static_cast<std::size_t>(n), L'\0');
    ::MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), wide.data(), n);
    return wide;
}

// One argument as the C runtime's command-line parser (CommandLineToArgvW) reads it back:
// quoted when it holds a space, a tab or a quote or is empty; a quote is escaped with a
// backslash, and backslashes double only where a quote follows them.
std::wstring quote_argument(const std::wstring& arg) {
    if (!arg.empty() && arg.find_first_of(L" \t\"") == std::wstring::npos) return arg;
    std::wstring out = L"\"";
    std::size_t backslashes = 0;
    for (wchar_t c : arg) {
        if (c == L'\\') {
            ++backslashes;
            continue;
        }
        out.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
        backslashes = 0;
        out += c;
    }
    out.append(backslashes * 2, L'\\');
    return out + L"\"";
}

// The child's CPU time and memory now (or at its exit).
struct usage_now {
    double user_s = 0, sys_s = 0;
    long rss_kb = 0, peak_rss_kb = 0;
};
usage_now process_usage(HANDLE process) {
    usage_now u;
    FILETIME created, exited, kernel, user;
    if (::GetProcessTimes(process, &created, &exited, &kernel, &user)) {
        u.user_s = seconds(user);
        u.sys_s = seconds(kernel);
    }
    PROCESS_MEMORY_COUNTERS memory{};
    if (::GetProcessMemoryInfo(process, &memory, sizeof(memory))) {
        u.rss_kb = static_cast<long>(memory.WorkingSetSize / 1024);
        u.peak_rss_kb = static_cast<long>(memory.PeakWorkingSetSize / 1024);
    }
    return u;
}

}  // namespace

struct child_process::os_state {
    HANDLE process = nullptr;
    HANDLE job = nullptr;
    HANDLE stdout_read = nullptr;  // the harness's end of the stdout pipe
    HANDLE stdin_write = nullptr;  // the harness's end of the stdin pipe
    DWORD pid = 0;
    long peak_seen_kb = 0;  // the largest working set a sample saw (Wine reports none at exit)
};

std::vector<int> allowed_cpus() {
    DWORD_PTR process_mask = 0, system_mask = 0;
    std::vector<int> cpus;
    if (!::GetProcessAffinityMask(::GetCurrentProcess(), &process_mask, &system_mask)) return cpus;
    for (int cpu = 0; cpu < static_cast<int>(sizeof(DWORD_PTR) * 8); ++cpu)
        if (process_mask & (DWORD_PTR{1} << cpu)) cpus.push_back(cpu);
    return cpus;
}

bool can_pin_cpus() {
    return true;
}

std::string pinning_method() {
    return "SetProcessAffinityMask on the suspended child before it runs";
}

std::filesystem::path executable_dir() {
    std::wstring path(MAX_PATH, L'\0');
    for (;;) {
        DWORD n = ::GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
        if (n == 0) throw_last_error("cannot find the rot13-bench executable");
        if (n < path.size()) {
            path.resize(n);
            return std::filesystem::path(path).parent_path();
        }
        path.resize(path.size() * 2);
    }
}

std::string executable_suffix() {
    return ".exe";
}

std::filesystem::path own_stderr() {
    return {};
}

std::string signal_name(int sig) {
    return "signal " + std::to_string(sig);
}

// A job object per child does what a subreaper does on Linux. What is needed here is a
// console: a control event travels through one, and the children share their parent's. A
// harness started without one (by a service such as a CI runner, or by Wine from a
// process that is not on a terminal) gets a console of its own, and keeps its standard
// handles, which AllocConsole() would point at the new console.
void become_subreaper() {
    if (::GetConsoleWindow()) return;
    HANDLE in = ::GetStdHandle(STD_INPUT_HANDLE), out = ::GetStdHandle(STD_OUTPUT_HANDLE),
           err = ::GetStdHandle(STD_ERROR_HANDLE);
    if (!::AllocConsole()) return;  // it had one after all (one without a window)  // it had one after all (one without a window)
    ::SetStdHandle(STD_INPUT_HANDLE, in);
    ::SetStdHandle(STD_OUTPUT_HANDLE, out);
    ::SetStdHandle(STD_ERROR_HANDLE, err);
}

child_process::child_process(const spawn_options& opts) : os_(std::make_unique<os_state>()) {
    if (opts.argv.empty()) throw std::invalid_argument("child_process: empty command");
    std::wstring command_line;
    for (const auto& arg : opts.argv) command_line += (command_line.empty() ? L"" : L" ") + quote_argument(widen(arg));

    // The child's ends of its standard handles are inheritable; the harness's ends are not.
    SECURITY_ATTRIBUTES inherit{sizeof(inherit), nullptr, TRUE};
    HANDLE child_in = nullptr, child_out = nullptr, child_log = nullptr;
    auto close_child_ends = [&] {
        close_handle(child_in);
        close_handle(child_out);
        close_handle(child_log);
    };
    std::wstring log = opts.log.empty() ? L"NUL" : opts.log.wstring();
    child_log = ::CreateFileW(log.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                              OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (child_log == INVALID_HANDLE_VALUE) throw_last_error("cannot open " + opts.log.string());
    if (opts.capture_stdout) {
        if (!::CreatePipe(&os_->stdout_read, &child_out, &inherit, 0)) throw_last_error("CreatePipe");
        ::SetHandleInformation(os_->stdout_read, HANDLE_FLAG_INHERIT, 0);
    }
    if (opts.stdin_pipe) {
        if (!::CreatePipe(&child_in, &os_->stdin_write, &inherit, 0)) throw_last_error("CreatePipe");
        ::SetHandleInformation(os_->stdin_write, HANDLE_FLAG_INHERIT, 0);
    } else {
        child_in = ::CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit, OPEN_EXISTING,
                                 FILE_ATTRIBUTE_NORMAL, nullptr);
    }

    // The job first, and the child born in it (PROC_THREAD_ATTRIBUTE_JOB_LIST, Windows 10):
    // a child assigned to it only after CreateProcess would, if the harness died in between,
    // stay suspended outside any job for ever. Where the attribute is refused (Wine 8), the
    // child is assigned while still suspended, and that short window remains.
    os_->job = ::CreateJobObjectW(nullptr, nullptr);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!os_->job || !::SetInformationJobObject(os_->job, JobObjectExtendedLimitInformation, &limits, sizeof(limits))) {
        close_child_ends();
        throw_last_error("cannot create a job object");
    }
    SIZE_T list_size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &list_size);
    std::vector<char> list_memory(list_size);
    auto* attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(list_memory.data());
    bool born_in_job = list_size > 0 && ::InitializeProcThreadAttributeList(attributes, 1, 0, &list_size) &&
                       ::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_JOB_LIST, &os_->job,
                                                   sizeof(os_->job), nullptr, nullptr);

    STARTUPINFOEXW startup{};
    startup.StartupInfo.cb = sizeof(startup);
    startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    startup.StartupInfo.hStdInput = child_in;
    startup.StartupInfo.hStdOutput = opts.capture_stdout ? child_out : child_log;
    startup.StartupInfo.hStdError = child_log;
    const DWORD flags = CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP;
    PROCESS_INFORMATION info{};
    auto create = [&](bool in_job) {
        startup.lpAttributeList = in_job ? attributes : nullptr;
        return ::CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, TRUE,
                                flags | (in_job ? EXTENDED_STARTUPINFO_PRESENT : 0), nullptr, nullptr,
                                &startup.StartupInfo, &info);
    };
    BOOL created = born_in_job && create(true);
    if (!created) {
        born_in_job = false;
        created = create(false);
    }
    DWORD create_error = ::GetLastError();
    if (list_size > 0) ::DeleteProcThreadAttributeList(attributes);
    close_child_ends();
    if (!created) {
        // What a failed exec is on POSIX: the run records it, the harness goes on.
        exec_error_ = "cannot run " + opts.argv[0] + ": " + error_text(create_error);
        exit_ = exit_status{};
        exit_->code = 127;
        return;
    }
    os_->process = info.hProcess;
    os_->pid = info.dwProcessId;
    if (!born_in_job && !::AssignProcessToJobObject(os_->job, os_->process)) {
        DWORD error = ::GetLastError();
        ::TerminateProcess(os_->process, 1);
        ::CloseHandle(info.hThread);
        ::WaitForSingleObject(os_->process, INFINITE);
        close_handle(os_->process);
        throw std::system_error(static_cast<int>(error), std::system_category(),
                                "cannot put " + opts.argv[0] + " in a job object");
    }
    if (!opts.cpus.empty()) {
        DWORD_PTR mask = 0;
        bool fits = true;
        for (int cpu : opts.cpus) {
            if (cpu >= static_cast<int>(sizeof(DWORD_PTR) * 8))
                fits = false;
            else
                mask |= DWORD_PTR{1} << cpu;
        }
        if (!fits)
            pin_error_ = "SetProcessAffinityMask: CPU numbers past 63 need processor groups, which this does not use";
        else if (!::SetProcessAffinityMask(os_->process, mask))
            pin_error_ = "SetProcessAffinityMask(" + format_cpu_list(opts.cpus) + "): " + error_text(::GetLastError());
    }
    ::ResumeThread(info.hThread);
    ::CloseHandle(info.hThread);
}

child_process::~child_process() {
    kill_and_reap();
    close_handle(os_->stdout_read);
    close_handle(os_->stdin_write);
    close_handle(os_->job);  // kills whatever is left in it (KILL_ON_JOB_CLOSE)
    close_handle(os_->process);
}

long child_process::pid() const {
    return static_cast<long>(os_->pid);
}

// An anonymous pipe cannot be made nonblocking on Windows: PeekNamedPipe says how much
// is waiting, and ReadFile takes no more than that.
bool child_process::read_stdout(std::string& out) {
    if (!os_->stdout_read) return false;
    for (;;) {
        DWORD available = 0;
        if (!::PeekNamedPipe(os_->stdout_read, nullptr, 0, nullptr, &available, nullptr)) {
            close_handle(os_->stdout_read);  // ERROR_BROKEN_PIPE: the child closed its end
            return false;
        }
        if (available == 0) return true;
        char buf[4096];
        DWORD n = 0;
        if (!::ReadFile(os_->stdout_read, buf, std::min<DWORD>(available, sizeof(buf)), &n, nullptr) || n == 0) {
            close_handle(os_->stdout_read);
            return false;
        }
        out.append(buf, n);
    }
}

bool child_process::write_stdin(const std::string& text) {
    if (!os_->stdin_write) return false;
    DWORD written = 0;
    return ::WriteFile(os_->stdin_write, text.data(), static_cast<DWORD>(text.size()), &written, nullptr) &&
           written == text.size();
}

namespace {

exit_status collect_exit(HANDLE process, long peak_seen_kb) {
    exit_status status;
    DWORD code = 0;
    if (::GetExitCodeProcess(process, &code)) status.code = static_cast<int>(code);
    usage_now u = process_usage(process);
    status.user_s = u.user_s;
    status.sys_s = u.sys_s;
    status.peak_rss_kb = std::max(u.peak_rss_kb, peak_seen_kb);
    return status;
}

}  // namespace

const std::optional<exit_status>& child_process::poll_exit() {
    if (exit_ || !os_->process) return exit_;
    if (::WaitForSingleObject(os_->process, 0) != WAIT_OBJECT_0) return exit_;
    ::TerminateJobObject(os_->job, 1);  // whatever it started
    exit_ = collect_exit(os_->process, os_->peak_seen_kb);
    return exit_;
}

void child_process::request_stop() {
    close_handle(os_->stdin_write);
    if (!exit_ && os_->process) ::GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, os_->pid);
}

void child_process::kill_and_reap() {
    if (exit_ || !os_->process) return;
    ::TerminateJobObject(os_->job, 1);
    ::WaitForSingleObject(os_->process, INFINITE);
    exit_ = collect_exit(os_->process, os_->peak_seen_kb);
}

group_sample child_process::sample() const {
    group_sample sample;
    if (exit_ || !os_->process) return sample;
    usage_now u = process_usage(os_->process);
    os_->peak_seen_kb = std::max({os_->peak_seen_kb, u.peak_rss_kb, u.rss_kb});
    sample.rss_kb = u.rss_kb;
    sample.user_s = u.user_s;
    sample.sys_s = u.sys_s;
    sample.cpu_s = u.user_s + u.sys_s;
    sample.processes = 1;
    return sample;
}

}  // namespace harness
