// Writing results so that a crash or a power cut never leaves a half-written file. CMake
// compiles durable_file_posix.cpp or durable_file_windows.cpp.
#pragma once

#include <filesystem>
#include <string>

namespace harness {

// Replaces the file at path with text: written to path + ".tmp" in the same directory,
// flushed to the disk, then renamed over path (atomic on both POSIX and NTFS), so that the
// name always points at either the old complete file or the new complete one. Throws
// std::system_error naming the file.
void replace_file_durably(const std::filesystem::path& path, const std::string& text);

}  // namespace harness
