#include "natten/io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "natten/core/error.hpp"

namespace natten {

AtomicOutput::AtomicOutput(std::string destination) : dest_(std::move(destination)) {
  if (dest_.empty()) fail("output path is empty");
  // The pid keeps two concurrent writers of the same destination from sharing a temporary.
  temp_ = dest_ + ".tmp." + std::to_string(static_cast<long>(::getpid()));
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) std::remove(temp_.c_str());
}

void AtomicOutput::commit() {
  if (std::rename(temp_.c_str(), dest_.c_str()) != 0)
    fail("{}: cannot move {} into place: {}", dest_, temp_, std::strerror(errno));
  committed_ = true;
}

void write_text_atomically(const std::string& path, std::string_view contents) {
  AtomicOutput out(path);
  {
    std::ofstream f(out.temp_path(), std::ios::binary | std::ios::trunc);
    if (!f) fail("{}: cannot create {}: {}", path, out.temp_path(), std::strerror(errno));
    f.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    f.flush();
    if (!f) fail("{}: write to {} failed", path, out.temp_path());
  }
  out.commit();
}

}  // namespace natten
