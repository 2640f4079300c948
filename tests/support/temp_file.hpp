// A uniquely named file under the system temp directory, removed when the object goes away.
#pragma once

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace natten::testing {

class TempFile {
 public:
  explicit TempFile(const std::string& suffix, const std::string& content = {}) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::temp_directory_path() /
             ("natten-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + suffix))
                .string();
    if (!content.empty()) write(content);
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const std::string& content) const { std::ofstream(path_, std::ios::binary) << content; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace natten::testing
