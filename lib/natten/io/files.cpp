#include "natten/io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "natten/core/error.hpp"

namespace natten {
namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Follows symbolic links to the final target, which need not exist yet.
std::string follow_links(const std::string& path, const std::string& what) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
    if (n < 0) fail("{}: {}: cannot read the symbolic link: {}", what, path, std::strerror(errno));
    const std::string target(buf, static_cast<std::size_t>(n));
    p = target.front() == '/' ? target : dir_of(p) + "/" + target;
  }
  fail("{}: {}: too many levels of symbolic links", what, path);
}

std::string canonical_dir(const std::string& dir) {
  char buf[PATH_MAX];
  return ::realpath(dir.c_str(), buf) != nullptr ? std::string(buf) : dir;
}

void write_all(int fd, std::string_view contents, const std::string& what) {
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("{}: write failed: {}", what, std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

// The rename is durable only once the directory entry is: fsync the directory too.
void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;  // best effort: some filesystems do not open directories
  ::fsync(fd);
  ::close(fd);
}

std::string temp_name(const std::string& target) {
  static std::atomic<int> counter{0};
  return fmt::format("{}/.{}.tmp.{}.{}", dir_of(target), base_of(target), static_cast<long>(::getpid()), counter++);
}

}  // namespace

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat st {};
  if (path.empty()) fail("{}: the path is empty", what);
  if (::stat(path.c_str(), &st) != 0) fail("{} {}: {}", what, path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("{} {}: is a directory, not a file", what, path);
  if (S_ISFIFO(st.st_mode)) fail("{} {}: is a FIFO (named pipe), not a regular file", what, path);
  if (!S_ISREG(st.st_mode)) fail("{} {}: is a device or socket, not a regular file", what, path);
  if (::access(path.c_str(), R_OK) != 0) fail("{} {}: {}", what, path, std::strerror(errno));
}

std::string read_file(const std::string& path) {
  require_regular_file(path, "file");
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("{}: cannot open file: {}", path, std::strerror(errno));
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail("{}: error reading file: {}", path, std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

OutputFile::OutputFile(std::string option, std::string path) : option_(std::move(option)), path_(std::move(path)) {
  if (path_.empty()) fail("{}: the path is empty", option_);
  if (path_ == "-") {
    kind_ = Kind::stdout_stream;
    target_ = identity_ = "-";
    return;
  }
  target_ = follow_links(path_, option_);
  struct stat st {};
  if (::stat(target_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail("{}: {} is a directory", option_, path_);
    identity_ = fmt::format("{}:{}", static_cast<unsigned long>(st.st_dev), static_cast<unsigned long>(st.st_ino));
    if (!S_ISREG(st.st_mode)) {
      kind_ = Kind::special;
      if (::access(target_.c_str(), W_OK) != 0) fail("{}: {}: cannot write: {}", option_, path_, std::strerror(errno));
      return;
    }
    mode_ = static_cast<int>(st.st_mode & 07777);
  } else if (errno != ENOENT) {
    fail("{}: {}: {}", option_, path_, std::strerror(errno));
  } else {
    identity_ = canonical_dir(dir_of(target_)) + "/" + base_of(target_);
  }
  const std::string dir = dir_of(target_);
  struct stat ds {};
  if (::stat(dir.c_str(), &ds) != 0) fail("{}: {}: the directory {} does not exist", option_, path_, dir);
  if (!S_ISDIR(ds.st_mode)) fail("{}: {}: {} is not a directory", option_, path_, dir);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail("{}: {}: cannot write in the directory {}: {}", option_, path_, dir, std::strerror(errno));
}

void OutputFile::write(std::string_view contents) const {
  const std::string what = option_ + ": " + path_;
  if (kind_ == Kind::stdout_stream) {
    if (std::fwrite(contents.data(), 1, contents.size(), stdout) != contents.size() || std::fflush(stdout) != 0)
      fail("{}: writing to stdout failed: {}", option_, std::strerror(errno));
    return;
  }
  if (kind_ == Kind::special) {
    const int fd = ::open(target_.c_str(), O_WRONLY);
    if (fd < 0) fail("{}: cannot open: {}", what, std::strerror(errno));
    try {
      write_all(fd, contents, what);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
    return;
  }
  const std::string temp = temp_name(target_);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
  if (fd < 0) fail("{}: cannot create {}: {}", what, temp, std::strerror(errno));
  try {
    if (mode_ >= 0) ::fchmod(fd, static_cast<mode_t>(mode_));
    write_all(fd, contents, what);
    if (::fsync(fd) != 0) fail("{}: fsync failed: {}", what, std::strerror(errno));
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (std::rename(temp.c_str(), target_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail("{}: cannot move {} into place: {}", what, temp, std::strerror(err));
  }
  sync_directory(dir_of(target_));
}

void require_distinct(const std::vector<const OutputFile*>& outputs) {
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    for (std::size_t j = i + 1; j < outputs.size(); ++j) {
      const OutputFile& a = *outputs[i];
      const OutputFile& b = *outputs[j];
      if (a.identity_ != b.identity_ || a.target_ == "/dev/null") continue;
      fail("{} and {} both write to {}: give each its own file", a.option_, b.option_,
           a.is_stdout() ? std::string("stdout") : a.path_);
    }
  }
}

void write_output(const std::string& option, const std::string& path, std::string_view contents) {
  OutputFile(option, path).write(contents);
}

AtomicOutput::AtomicOutput(std::string option, std::string destination) : out_(std::move(option), std::move(destination)) {
  if (!out_.is_regular())
    fail("{}: {} is not a regular file or a new file name (an HDF5 file needs one it can seek in)", out_.option(),
         out_.path());
  temp_ = temp_name(out_.target());
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicOutput::commit() {
  const int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  if (std::rename(temp_.c_str(), out_.target().c_str()) != 0)
    fail("{}: {}: cannot move {} into place: {}", out_.option(), out_.path(), temp_, std::strerror(errno));
  committed_ = true;
  sync_directory(dir_of(out_.target()));
}

}  // namespace natten
