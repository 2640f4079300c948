// Files in and out (natten/io/files.hpp), as both apps use them: outputs write through device
// nodes, FIFOs and stdout; symbolic links are followed and their target replaced atomically;
// directories, missing or read-only directories and duplicate outputs are refused before any
// work; inputs that are not regular files are refused at once.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "natten/core/error.hpp"
#include "natten/io/files.hpp"
#include "support/temp_file.hpp"

namespace natten {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// A fresh directory under the temp directory, removed with its contents.
struct TempDir {
  testing::TempFile name{".d"};
  TempDir() { fs::create_directories(name.path()); }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(name.path(), fs::perms::owner_all, ec);
    fs::remove_all(name.path(), ec);
  }
  std::string operator/(const std::string& f) const { return name.path() + "/" + f; }
  std::vector<std::string> entries() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(name.path())) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

std::string contents(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Files, RegularFileIsReplacedWholeKeepingItsMode) {
  const TempDir d;
  const std::string p = d / "out.json";
  write_output("--json", p, "first");
  EXPECT_EQ(contents(p), "first");
  fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  write_output("--json", p, "second, longer");
  EXPECT_EQ(contents(p), "second, longer");
  EXPECT_EQ(fs::status(p).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_EQ(d.entries(), std::vector<std::string>{"out.json"});  // no temporary left behind
}

TEST(Files, DeviceNodesAreWrittenThroughNeverReplaced) {
  write_output("--json", "/dev/null", "discarded");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null must stay a character device";
}

TEST(Files, FifoIsWrittenThrough) {
  const TempDir d;
  const std::string fifo = d / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = contents(fifo); });
  write_output("--csv", fifo, "a,b\n1,2\n");
  reader.join();
  EXPECT_EQ(got, "a,b\n1,2\n");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(Files, SymlinkIsFollowedAndStaysALink) {
  const TempDir d;
  write_output("x", d / "real.json", "old");
  fs::create_symlink("real.json", d / "link.json");  // relative, as users make them
  write_output("--json", d / "link.json", "new");
  EXPECT_TRUE(fs::is_symlink(d / "link.json"));
  EXPECT_EQ(contents(d / "real.json"), "new");
  // A dangling link is followed too: its target is created.
  fs::create_symlink("later.json", d / "dangling.json");
  write_output("--json", d / "dangling.json", "made");
  EXPECT_EQ(contents(d / "later.json"), "made");
  EXPECT_TRUE(fs::is_symlink(d / "dangling.json"));
}

TEST(Files, UnusableOutputsAreRefusedUpFront) {
  const TempDir d;
  EXPECT_NE(error_of([&] { OutputFile("--json", ""); }).find("--json: the path is empty"), std::string::npos);
  EXPECT_NE(error_of([&] { OutputFile("--json", d.name.path()); }).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { OutputFile("--csv", d / "missing/out.csv"); }).find("the directory " + (d / "missing") + " does not exist"),
            std::string::npos);
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directories(d / "ro");
    fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_NE(error_of([&] { OutputFile("--json", d / "ro/x.json"); }).find("cannot write in the directory"), std::string::npos);
  }
  // The checks created nothing.
  const std::vector<std::string> left = d.entries();
  EXPECT_TRUE(std::find(left.begin(), left.end(), "missing") == left.end());
}

TEST(Files, TwoOutputsToOnePlaceAreRefused) {
  const TempDir d;
  write_output("x", d / "a.json", "{}");
  fs::create_symlink("a.json", d / "b.json");
  const OutputFile json("--json", d / "a.json"), csv("--csv", d / "b.json"), other("--markdown", d / "c.md");
  EXPECT_NE(error_of([&] { require_distinct({&json, &csv}); }).find("--json and --csv both write to"), std::string::npos);
  EXPECT_NO_THROW(require_distinct({&json, &other}));
  const OutputFile s1("--json", "-"), s2("--csv", "-");
  EXPECT_NE(error_of([&] { require_distinct({&s1, &s2}); }).find("--json and --csv both write to stdout"), std::string::npos);
  const OutputFile n1("--json", "/dev/null"), n2("--csv", "/dev/null");
  EXPECT_NO_THROW(require_distinct({&n1, &n2}));
  // Not yet existing, spelled two ways.
  const OutputFile p1("--json", d / "new.json"), p2("--csv", d.name.path() + "/./new.json");
  EXPECT_NE(error_of([&] { require_distinct({&p1, &p2}); }).find("both write to"), std::string::npos);
}

TEST(Files, InputsMustBeRegularFiles) {
  const TempDir d;
  const std::string fifo = d / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // At once, not after a timeout: a FIFO with no writer would block forever.
  EXPECT_NE(error_of([&] { read_file(fifo); }).find("is a FIFO (named pipe), not a regular file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_file("/dev/zero"); }).find("is a device or socket"), std::string::npos);
  EXPECT_NE(error_of([&] { read_file(d.name.path()); }).find("is a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { read_file(d / "nope"); }).find("No such file or directory"), std::string::npos);
  write_output("x", d / "ok.txt", "fine");
  EXPECT_EQ(read_file(d / "ok.txt"), "fine");
}

TEST(Files, AtomicOutputForLibrariesThatNeedAPath) {
  const TempDir d;
  {
    AtomicOutput out("--write", d / "refs.h5");
    std::ofstream(out.temp_path()) << "partial";
    // Not committed: the destination never appears and the temporary is removed.
  }
  EXPECT_TRUE(d.entries().empty());
  {
    AtomicOutput out("--write", d / "refs.h5");
    std::ofstream(out.temp_path()) << "whole";
    out.commit();
  }
  EXPECT_EQ(contents(d / "refs.h5"), "whole");
  EXPECT_NE(error_of([&] { AtomicOutput("--write", "/dev/null"); }).find("is not a regular file"), std::string::npos);
  EXPECT_NE(error_of([&] { AtomicOutput("--write", "-"); }).find("is not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace natten
