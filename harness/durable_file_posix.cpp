// replace_file_durably() on POSIX: write(), fsync() of the file, rename(), fsync() of the
// directory (which makes the rename itself durable).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/errors.hpp"
#include "common/fd.hpp"
#include "harness/durable_file.hpp"

namespace harness {

void replace_file_durably(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    {
        rot13::unique_fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) rot13::throw_errno("cannot create " + tmp.string());
        for (std::size_t done = 0; done < text.size();) {
            ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) rot13::throw_errno("cannot write " + tmp.string());
            done += static_cast<std::size_t>(n);
        }
        if (::fsync(fd.get()) != 0) rot13::throw_errno("fsync " + tmp.string());
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) rot13::throw_errno("cannot rename " + tmp.string());
    std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
    rot13::unique_fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd) ::fsync(dir_fd.get());
}

}  // namespace harness
