// Mutation fuzzing of natten-check's reader: a valid two-case file (one case contiguous, one gzip
// chunked), and a file of split-op and merge cases, are damaged with bit flips, byte overwrites and
// truncations at many offsets (deterministic seed, bounded count). Each damaged file is checked (backends, --list and
// --candidate paths) in a forked child, so a crash, abort or hang anywhere - our code or libhdf5 -
// fails the test with the offending mutation instead of taking the test binary down.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <algorithm>
#include <cstdlib>
#include <random>

#include "case_list.hpp"
#include "check_runner.hpp"
#include "natten/backend.hpp"
#include "natten/config/case_spec.hpp"
#include "natten/io/h5.hpp"
#include "natten/io/split_case.hpp"
#include "natten/parity/case_generator.hpp"
#include "support/ref_fixtures.hpp"

// libhdf5 (not instrumented) reads garbage sizes from damaged headers and asks malloc for absurd
// amounts; glibc returns NULL and HDF5 reports an error, but ASan aborts by default. Make the
// sanitizer build behave like production so the fuzzer tests our handling, not ASan's policy.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }
#endif

namespace natten {
namespace {

// Mutations run: the first kMutations of the deterministic stream, plus earlier finds of this
// fuzzer that libhdf5 1.10.8 does not survive on its own (140: SIGSEGV, 289: endless loop), kept
// as regressions for the read guard. NATTEN_FUZZ_MUTATIONS=N runs the first N instead (deeper runs).
constexpr int kMutations = 120;
constexpr int kSplitMutations = 40;
const int kRegressions[] = {140, 289};
constexpr unsigned kGuardSeconds = 2;    // natten-check's own guard (the valid file reads in ms)
constexpr unsigned kChildSeconds = 60;   // this test's outer safety net

enum ChildExit { kAllPassed = 10, kSomeRejected = 11 };

struct Mutation {
  std::string what;
  std::vector<unsigned char> bytes;
};

Mutation mutate(const std::vector<unsigned char>& original, std::mt19937_64& rng, int i) {
  Mutation m{"", original};
  // Half the offsets land in the first 4 KiB, where the superblock and most object headers live.
  auto offset = [&](std::size_t size) {
    const std::size_t limit = (rng() & 1) ? std::min<std::size_t>(size, 4096) : size;
    return static_cast<std::size_t>(rng() % limit);
  };
  switch (i % 4) {
    case 0: {  // flip 1-3 bits
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        const std::size_t at = offset(m.bytes.size());
        const int bit = static_cast<int>(rng() % 8);
        m.bytes[at] = static_cast<unsigned char>(m.bytes[at] ^ (1u << bit));
        m.what += "flip bit " + std::to_string(bit) + " at " + std::to_string(at) + "; ";
      }
      break;
    }
    case 1: {  // overwrite a run of 1-8 bytes with random, 0x00 or 0xff
      const std::size_t at = offset(m.bytes.size());
      const std::size_t len = std::min<std::size_t>(1 + rng() % 8, m.bytes.size() - at);
      const int style = static_cast<int>(rng() % 3);
      for (std::size_t k = 0; k < len; ++k)
        m.bytes[at + k] = style == 0 ? static_cast<unsigned char>(rng()) : (style == 1 ? 0x00 : 0xff);
      m.what = "overwrite " + std::to_string(len) + " bytes (style " + std::to_string(style) + ") at " + std::to_string(at);
      break;
    }
    case 2: {  // truncate
      const std::size_t at = offset(m.bytes.size());
      m.bytes.resize(at);
      m.what = "truncate to " + std::to_string(at);
      break;
    }
    default: {  // overwrite one byte with a "dangerous" value (sizes, counts, versions)
      static const unsigned char kValues[] = {0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff};
      const std::size_t at = offset(m.bytes.size());
      m.bytes[at] = kValues[rng() % std::size(kValues)];
      m.what = "set byte at " + std::to_string(at) + " to " + std::to_string(m.bytes[at]);
    }
  }
  return m;
}

// Runs every reading path on `damaged` in this (child) process; returns the child's exit code.
int check_in_child(const std::string& damaged, const std::string& good) {
  check::RunOptions o;
  o.backends = {"reference"};
  o.progress = false;
  o.max_elements = std::int64_t{1} << 22;
  o.read_guard_seconds = kGuardSeconds;
  bool rejected = false;
  const check::RunReport r = check::run_backend_checks(damaged, o);
  rejected = rejected || check::exit_code(r, false) != 0;
  const check::RunReport c = check::run_candidate_check(good, damaged, o);
  rejected = rejected || check::exit_code(c, false) != 0;
  const check::CaseListing l = check::list_cases(damaged, {}, o.max_elements, kGuardSeconds);
  rejected = rejected || !l.file_error.empty();
  return rejected ? kSomeRejected : kAllPassed;
}

// Damages the valid file `good` with the first `default_count` mutations of a deterministic stream
// (NATTEN_FUZZ_MUTATIONS overrides the count) plus `regressions`, checking each in a forked child.
void fuzz(const std::string& good, int default_count, const std::vector<int>& regressions) {
  const std::vector<unsigned char> original = testing::read_bytes(good);
  ASSERT_GT(original.size(), 4096u);
  const std::string damaged = testing::temp_path("fuzz_damaged");

  const char* env = std::getenv("NATTEN_FUZZ_MUTATIONS");
  const int count = env != nullptr ? std::max(1, std::atoi(env)) : default_count;
  std::vector<int> selected;
  for (int i = 0; i < count; ++i) selected.push_back(i);
  for (int i : regressions) {
    if (i >= count) selected.push_back(i);
  }
  std::mt19937_64 rng(20240611);
  int passed = 0, rejected = 0, generated = 0;
  for (int i : selected) {
    Mutation m;
    while (generated <= i) m = mutate(original, rng, generated++);  // keep the stream deterministic
    testing::write_bytes(damaged, m.bytes);
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      ::alarm(kChildSeconds);  // a hang becomes SIGALRM, reported below
      int code = 3;
      try {
        code = check_in_child(damaged, good);
      } catch (...) {
        code = 4;  // an exception escaped natten-check's own handling
      }
      ::_exit(code);
    }
    int status = 0;
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (secs > 0.5) std::printf("slow mutation %d (%s): %.1f s\n", i, m.what.c_str(), secs);
    if (WIFSIGNALED(status)) {
      ADD_FAILURE() << "mutation " << i << " (" << m.what << ") killed the reader with signal " << WTERMSIG(status)
                    << (WTERMSIG(status) == SIGALRM ? " (hang)" : "");
      continue;
    }
    const int code = WEXITSTATUS(status);
    if (code == kAllPassed) {
      ++passed;
    } else if (code == kSomeRejected) {
      ++rejected;
    } else {
      ADD_FAILURE() << "mutation " << i << " (" << m.what << ") ended the reader with exit code " << code;
    }
  }
  // Most damage must be noticed; damage to padding or unused bytes may pass unnoticed.
  EXPECT_GT(rejected, static_cast<int>(selected.size()) / 4) << passed << " passed";
  std::printf("fuzz: %zu mutations, %d rejected cleanly, %d harmless\n", selected.size(), rejected, passed);
}

TEST(CheckFuzz, DamagedFilesNeverCrashOrHang) {
  const std::string good = testing::temp_path("fuzz_good");
  {
    const h5::File f = h5::File::create(good);
    const h5::Group root = f.root();
    root.write_attribute("natten_ref_version", std::int64_t{1});
    write_ref_case(root, testing::tiny_case("plain", 1, DType::f32, true, 1), "reference", false);
    write_ref_case(root, testing::tiny_case("zipped", 2, DType::f16, true), "reference", true);
  }
  fuzz(good, kMutations, {std::begin(kRegressions), std::end(kRegressions)});
}

// The split-op and merge loaders on damaged files: na_qk with rpb and causal -inf slots, na_av
// with additional values, merge with three parts (the -inf-accepting readers included).
TEST(CheckFuzz, DamagedSplitFilesNeverCrashOrHang) {
  const std::string good = testing::temp_path("fuzz_split_good");
  {
    const std::unique_ptr<Backend> ref = make_backend("reference");
    const h5::File f = h5::File::create(good);
    for (const config::ResolvedCase& cfg : config::read_resolved_cases(NATTEN_SOURCE_DIR "/configs/parity_split.ini", config::CaseKeys::parity)) {
      if (cfg.name == "qk2d_causal_gqa_add_kv" || cfg.name == "av2d_causal_add_kv" || cfg.name == "merge3_1d_fp16")
        write_split_case(f.root(), generate_split_case(cfg, *ref), "reference", cfg.op == "na_av");
    }
  }
  fuzz(good, kSplitMutations, {});
}

}  // namespace
}  // namespace natten
