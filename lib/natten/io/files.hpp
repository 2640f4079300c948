// Files in and out, the same way in both apps.
//
// Inputs must be regular files: a FIFO or a device would block or stream forever, so it is refused
// at once with a line naming it.
//
// Outputs are resolved and checked before any work is done (OutputFile's constructor), so a run
// never spends minutes and then fails on an unwritable path. What a path can be:
//   "-"                      stdout
//   a character device, FIFO (/dev/null, a pipe)   written directly: never replaced by a file
//   a symbolic link          followed to its final target, which is what gets written (the link
//                            stays a link, pointing at the new contents)
//   a regular file or a new name in an existing, writable directory
//                            written to a temporary beside it, fsync'ed, renamed over it, and the
//                            directory fsync'ed: readers see the old file or the whole new one,
//                            never a part, and a crash leaves one or the other
//   a directory, an empty path, a missing or read-only directory   refused
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace natten {

// Reads a whole regular file; throws Error naming the path when it cannot (missing, a directory,
// a FIFO or device, unreadable).
std::string read_file(const std::string& path);
// Throws Error "<what> <path>: ..." unless `path` is a readable regular file (after symlinks).
void require_regular_file(const std::string& path, const std::string& what);

class OutputFile {
 public:
  // `option` names the output in messages ("--json"). Throws Error "--json: <path>: why".
  OutputFile(std::string option, std::string path);

  const std::string& option() const { return option_; }
  const std::string& path() const { return path_; }       // as given
  const std::string& target() const { return target_; }   // after symlinks; "-" for stdout
  bool is_stdout() const { return kind_ == Kind::stdout_stream; }
  bool is_regular() const { return kind_ == Kind::regular; }

  // Writes `contents` as described above; throws Error naming the option and path on failure.
  void write(std::string_view contents) const;

 private:
  friend void require_distinct(const std::vector<const OutputFile*>& outputs);
  enum class Kind { stdout_stream, special, regular };
  std::string option_, path_, target_;
  std::string identity_;  // the same for two paths to one file ("device:inode", or dir + name)
  Kind kind_ = Kind::regular;
  int mode_ = -1;  // an existing file's permissions, kept by the replacement (-1: a new file)
};

// Throws Error when two outputs would write to the same place ("--json and --csv both write to
// out.json"); /dev/null may take any number.
void require_distinct(const std::vector<const OutputFile*>& outputs);

// Writes `contents` to `path` ("-" = stdout) as an OutputFile named `option` would.
void write_output(const std::string& option, const std::string& path, std::string_view contents);

// For writers that need a file name of their own (the HDF5 library): a temporary beside the
// resolved regular destination, moved into place by commit() (fsync, rename, directory fsync).
// The temporary is removed unless committed. Destinations that are not regular files (devices,
// FIFOs, stdout) are refused: an HDF5 file needs seeking.
class AtomicOutput {
 public:
  AtomicOutput(std::string option, std::string destination);
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  const std::string& temp_path() const { return temp_; }
  const std::string& destination() const { return out_.path(); }
  void commit();

 private:
  OutputFile out_;
  std::string temp_;
  bool committed_ = false;
};

}  // namespace natten
