// What both apps share (lib/natten/app): safe echoing of bytes from inputs, CLI11's messages in the
// project's words, help wrapping, --case globs.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "natten/app/case_globs.hpp"
#include "natten/app/diagnostics.hpp"
#include "natten/app/help_format.hpp"
#include "natten/core/error.hpp"

namespace natten {
namespace {

TEST(AppPlumbing, PrintableEscapesWhatATerminalWouldActOn) {
  EXPECT_EQ(app::printable("plain text, \\ and UTF-8 é ✓"), "plain text, \\ and UTF-8 é ✓");
  EXPECT_EQ(app::printable("\x1b[2Jgone"), "\\e[2Jgone");
  EXPECT_EQ(app::printable(std::string("a\0b", 3)), "a\\0b");
  EXPECT_EQ(app::printable("tab\tcr\rnl\n"), "tab\\tcr\\rnl\\n");
  EXPECT_EQ(app::printable("\x7f\x01"), "\\x7F\\x01");
  EXPECT_EQ(app::printable("bad \xff utf8 \xc3"), "bad \\xFF utf8 \\xC3");
  EXPECT_EQ(app::printable("\xc2\x9b" "csi"), "\\xC2\\x9Bcsi");  // C1 control (CSI) as UTF-8: escaped too
  EXPECT_EQ(app::one_line("a\nb\r\nc\n"), "a; b; c");
}

TEST(AppPlumbing, ErrorsKeepTheirTextPastANulByte) {
  try {
    fail("key 'dtype': '{}' is not a dtype", std::string("fp\0" "32", 5));
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "key 'dtype': 'fp\\032' is not a dtype");
  }
}

std::string parse_error(std::vector<std::string> args) {
  CLI::App app;
  double atol = 0;
  bool a = false, b = false;
  std::vector<std::string> two;
  app.add_option("--atol", atol);
  app.add_option("--pair", two)->expected(2);
  app.add_option("--one", atol);
  CLI::Option* oa = app.add_flag("--peak", a);
  CLI::Option* ob = app.add_flag("--dry-run", b);
  oa->excludes(ob);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app::describe_parse_error(e);
  }
  return "";
}

TEST(AppPlumbing, Cli11MessagesInOurWords) {
  EXPECT_EQ(parse_error({"--atol", "abc"}), "--atol: 'abc' is not a valid value");
  EXPECT_EQ(parse_error({"--bogus"}), "unknown option --bogus");
  EXPECT_EQ(parse_error({"stray"}), "unexpected argument 'stray'");
  EXPECT_EQ(parse_error({"--peak", "--dry-run"}), "--peak cannot be combined with --dry-run");
  EXPECT_EQ(parse_error({"--atol"}), "--atol needs a value");
  EXPECT_EQ(parse_error({"--pair", "a"}), "--pair takes 2 values, got 1");
}

TEST(AppPlumbing, WrapKeepsColumnsAndPreformattedLines) {
  EXPECT_EQ(app::wrap("one two three four", 10, 2), "one two\n  three\n  four");
  EXPECT_EQ(app::wrap("intro\n  example --keep   spacing", 12, 0), "intro\n  example --keep   spacing");
  EXPECT_EQ(app::wrap("short", 80, 30), "short");
}

TEST(AppPlumbing, EveryCaseGlobMustMatch) {
  const std::vector<std::string> names = {"na1d_a", "na2d_b", "merge_c"};
  EXPECT_EQ(app::select_cases(names, {}), names);
  EXPECT_EQ(app::select_cases(names, {"na*"}), (std::vector<std::string>{"na1d_a", "na2d_b"}));
  try {
    app::select_cases(names, {"typo*", "na1d_a"});
    ADD_FAILURE() << "a glob matching nothing must be an error even beside one that matches";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--case 'typo*': matches no case (of 3: na1d_a, na2d_b, merge_c)");
  }
}

}  // namespace
}  // namespace natten
