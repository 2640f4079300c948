// Atomic file output: write to a temporary file beside the destination, then rename() it over the
// destination. Readers never see a partial file, and a failed or interrupted write leaves whatever
// was there before untouched (the temporary is removed unless committed).
#pragma once

#include <string>
#include <string_view>

namespace natten {

class AtomicOutput {
 public:
  explicit AtomicOutput(std::string destination);
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();  // removes the temporary unless commit() succeeded

  // Where to write; same directory as the destination so the rename stays on one filesystem.
  const std::string& temp_path() const { return temp_; }
  const std::string& destination() const { return dest_; }
  // Renames the temporary over the destination; throws Error when that fails.
  void commit();

 private:
  std::string dest_;
  std::string temp_;
  bool committed_ = false;
};

// Writes `contents` to `path` atomically; throws Error naming the path on failure.
void write_text_atomically(const std::string& path, std::string_view contents);

}  // namespace natten
