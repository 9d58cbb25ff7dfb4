// replace_file_durably() on Windows: WriteFile(), FlushFileBuffers(), then MoveFileExW with
// MOVEFILE_WRITE_THROUGH, which returns only once the rename is on the disk (Windows has no
// fsync of a directory; this flag is its counterpart).
#include <windows.h>

#include <algorithm>
#include <system_error>

#include "harness/durable_file.hpp"

namespace harness {

namespace {

[[noreturn]] void throw_last_error(const std::string& what) {
    throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(), what);
}

}  // namespace

void replace_file_durably(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    HANDLE file = ::CreateFileW(tmp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL,
                                nullptr);
    if (file == INVALID_HANDLE_VALUE) throw_last_error("cannot create " + tmp.string());
    bool ok = true;
    for (std::size_t done = 0; ok && done < text.size();) {
        DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(text.size() - done, 1 << 30)), written = 0;
        ok = ::WriteFile(file, text.data() + done, chunk, &written, nullptr) != 0;
        done += written;
    }
    ok = ok && ::FlushFileBuffers(file) != 0;
    DWORD error = ::GetLastError();
    ::CloseHandle(file);
    if (!ok) throw std::system_error(static_cast<int>(error), std::system_category(), "cannot write " + tmp.string());
    if (!::MoveFileExW(tmp.c_str(), path.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
        throw_last_error("cannot rename " + tmp.string());
}

}  // namespace harness
