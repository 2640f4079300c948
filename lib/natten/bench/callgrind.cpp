#include "natten/bench/callgrind.hpp"

#include <cstdio>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define NATTEN_HAVE_CALLGRIND 1
#else
#define NATTEN_HAVE_CALLGRIND 0
#endif

#include "natten/core/error.hpp"
#include "natten/io/files.hpp"

namespace natten::bench {

std::string describe(const CacheGeometry& g) {
  return fmt::format("I1 {},{},{} D1 {},{},{} LL {},{},{}", g.i1, g.i1_ways, g.line, g.d1, g.d1_ways, g.line, g.ll,
                     g.ll_ways, g.line);
}

bool callgrind_requests_built() { return NATTEN_HAVE_CALLGRIND != 0; }

bool running_under_valgrind() {
#if NATTEN_HAVE_CALLGRIND
  return RUNNING_ON_VALGRIND != 0;
#else
  return false;
#endif
}

EventCounts parse_callgrind_file(const std::string& text, const std::string& path) {
  std::vector<std::string> events;
  std::string totals, summary;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("events:", 0) == 0) {
      std::istringstream names(line.substr(7));
      for (std::string n; names >> n;) events.push_back(n);
    } else if (line.rfind("summary:", 0) == 0) {
      summary = line.substr(8);
    } else if (line.rfind("totals:", 0) == 0) {
      totals = line.substr(7);
    }
  }
  if (events.empty()) fail("{}: no 'events:' line (not a callgrind output file?)", path);
  const std::string& values = summary.empty() ? totals : summary;
  if (summary.empty() && totals.empty()) fail("{}: no 'summary:' or 'totals:' line (truncated?)", path);
  EventCounts counts;
  for (const std::string& e : events) counts[e] = 0;  // callgrind leaves trailing zeros out
  std::istringstream nums(values);
  std::size_t i = 0;
  for (std::string v; nums >> v; ++i) {
    if (i >= events.size()) fail("{}: more totals than the {} events named", path, events.size());
    std::int64_t x = 0;
    for (char c : v) {
      if (c < '0' || c > '9') fail("{}: total '{}' of event {} is not a count", path, v, events[i]);
      x = x * 10 + (c - '0');
    }
    counts[events[i]] = x;
  }
  return counts;
}

EventCounts CallgrindCounter::count(const std::function<void()>& call, const std::string& label) {
#if NATTEN_HAVE_CALLGRIND
  CALLGRIND_ZERO_STATS;
  CALLGRIND_TOGGLE_COLLECT;
  call();
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_DUMP_STATS_AT(label.c_str());
  ++dumps_;
  const std::string dump = fmt::format("{}.{}", out_, dumps_);
  std::string text;
  try {
    text = read_file(dump);
  } catch (const Error&) {
    fail("no callgrind dump {} after counting '{}': not running under valgrind --tool=callgrind "
         "--callgrind-out-file={}?",
         dump, label, out_);
  }
  std::remove(dump.c_str());
  return parse_callgrind_file(text, dump);
#else
  (void)call;
  fail("cannot count '{}': natten-bench was built without valgrind/callgrind.h (install valgrind and rebuild)", label);
#endif
}

}  // namespace natten::bench
