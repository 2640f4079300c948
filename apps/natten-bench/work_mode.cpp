#include "work_mode.hpp"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "natten/backend/cpu/simd_targets.hpp"
#include "natten/bench/callgrind.hpp"
#include "natten/app/machine.hpp"
#include "natten/bench/subprocess.hpp"
#include "natten/bench/work_guard.hpp"
#include "natten/core/error.hpp"
#include "outputs.hpp"
#include "suite.hpp"
#include "natten/op/op_table.hpp"

namespace natten::bench {
namespace {

constexpr const char* kChildEnv = "NATTEN_BENCH_WORK_DIR";
constexpr const char* kShimName = "libnatten_valgrind_shim.so";

// A SIMD target valgrind executes (it has no AVX-512), unless --simd names one.
std::string count_target(const Options& o) {
  if (!o.simd.empty()) return o.simd;
#if defined(__x86_64__)
  return "AVX2";
#elif defined(__aarch64__)
  return "NEON";
#else
  fail("--count-work: name a SIMD target valgrind executes with --simd (targets here: {})",
       fmt::join(cpu::usable_simd_targets(), ", "));
#endif
}

// The counting run, under valgrind: warm up each row, count its next call, write the rows.
int count_child(const Options& o, const std::string& dir, const BackendFactory& factory) {
  if (!running_under_valgrind())
    fail("{} is set but this process is not running under valgrind (it is natten-bench --count-work's own)", kChildEnv);
  cpu::force_simd_target(count_target(o));
  const auto cases = assemble_cases(o);
  WorkReport rep;
  rep.toolchain = this_build_toolchain();
  rep.toolchain.simd_target = cpu::simd_target();
  rep.toolchain.threads = 1;
  CallgrindCounter counter(dir + "/natten.cg");
  for (const config::ResolvedCase& c : cases) {
    const std::unique_ptr<Workload> w = make_workload(c, o.fast_path);
    const std::vector<std::string> names = case_backends(c, [&](const std::string& n) { factory(n); });
    for (bool backward : directions_of(c)) {
      for (const std::string& name : names) {
        const std::unique_ptr<Backend> b = factory(name);
        b->set_threads(1);
        if (!w->unsupported(*b, backward).empty()) continue;  // --dry-run says why
        const std::function<void()> kernel = w->prepare(*b, backward);
        const auto call = [&] {
          for (int k = 0; k < o.inject_slowdown; ++k) kernel();
          b->synchronize();
        };
        call();  // warm-up: first-touch of outputs and workspaces, dispatch tables
        WorkRow row{c.name, name, w->row_op(backward), w->problem_str(), o.work.calls, {}};
        row.events = counter.count(
            [&] {
              for (int i = 0; i < o.work.calls; ++i) call();
            },
            c.name + " / " + name + " / " + row.op);
        rep.rows.push_back(row);
      }
    }
  }
  write_output("rows", dir + "/rows.json", work_json(rep).dump() + "\n");
  return 0;
}

// The scratch directory of one counting run, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/natten-work.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) fail("cannot create a scratch directory {}", templ);
    path_ = templ;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    if (DIR* d = ::opendir(path_.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") std::remove((path_ + "/" + n).c_str());
      }
      ::closedir(d);
    }
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string valgrind_version(const Options& o, const ScratchDir& dir) {
  const std::string out = dir.path() + "/version.txt";
  ProcessResult r;
  try {
    r = run_process({{o.work.valgrind, "--version"}, {}, out, dir.path() + "/version.err"});
  } catch (const Error&) {
    fail("--count-work needs valgrind, and '{}' cannot be run (Debian: apt-get install valgrind; or --valgrind PATH)",
         o.work.valgrind);
  }
  std::string v = read_file(out);
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  if (r.exit_code != 0 || v.rfind("valgrind-", 0) != 0)
    fail("'{} --version' did not answer like valgrind ({}): '{}'", o.work.valgrind, r.describe(), v);
  return v;
}

std::string shim_path() {
  const std::string self = self_executable();
  const std::string path = self.substr(0, self.find_last_of('/') + 1) + kShimName;
  if (::access(path.c_str(), R_OK) != 0)
    fail("--count-work needs {} beside natten-bench ({}): rebuild natten-bench", kShimName, path);
  return path;
}

int count_parent(const Options& o, int argc, char** argv) {
  if (!callgrind_requests_built())
    fail("--count-work: natten-bench was built without valgrind's client requests (valgrind/callgrind.h): install "
         "valgrind and rebuild");
  if (app::build_info().sanitizers)
    fail("--count-work: this natten-bench is built with sanitizers, which cannot run under valgrind (count with a "
         "Release build)");
  assemble_cases(o);  // bad cases fail here, not under valgrind
  std::optional<WorkReport> baseline;
  if (!o.baseline_path.empty()) baseline = read_work_report(o.baseline_path);
  const Outputs out(o, o.save_baseline_path);

  const ScratchDir dir;
  const std::string version = valgrind_version(o, dir);
  const CacheGeometry caches;
  ProcessSpec spec;
  spec.argv = {o.work.valgrind, "--tool=callgrind", "--collect-atstart=no",
               "--callgrind-out-file=" + dir.path() + "/natten.cg", "--log-file=" + dir.path() + "/valgrind.log"};
  if (o.work.cache_sim) {
    spec.argv.push_back("--cache-sim=yes");
    spec.argv.push_back(fmt::format("--I1={},{},{}", caches.i1, caches.i1_ways, caches.line));
    spec.argv.push_back(fmt::format("--D1={},{},{}", caches.d1, caches.d1_ways, caches.line));
    spec.argv.push_back(fmt::format("--LL={},{},{}", caches.ll, caches.ll_ways, caches.line));
  }
  spec.argv.push_back(self_executable());
  for (int i = 1; i < argc; ++i) spec.argv.push_back(argv[i]);
  spec.env = {{kChildEnv, dir.path()}, {"LD_PRELOAD", shim_path()}};
  if (!o.quiet) std::fprintf(stderr, "natten-bench: counting under %s (one thread; this takes a while)...\n", version.c_str());
  const ProcessResult r = run_process(spec);
  if (r.exit_code != 0) {
    const std::string log = tail_of_file(dir.path() + "/valgrind.log", 4);
    fail("the counting run under valgrind failed ({}){}", r.describe(), log.empty() ? "" : "; valgrind's log ends:\n" + log);
  }

  WorkReport rep = parse_work_report(read_json_file(dir.path() + "/rows.json", "the counting run's"), "counting run");
  rep.created = app::utc_now();
  rep.command_line = o.command_line;
  rep.cpu_model = app::machine_info().cpu_model;
  rep.toolchain.tool_version = version;
  rep.toolchain.cache = o.work.cache_sim ? describe(caches) : "none";

  std::optional<WorkGuardResult> guard;
  if (baseline) guard = compare_work(rep, *baseline, o.work.guard);
  Json json = work_json(rep);
  if (guard) json.set("guard", work_guard_json(*guard, o.baseline_path, o.work.guard));
  std::FILE* text = out.any_stdout() ? stderr : stdout;
  std::fprintf(text, "%s", work_table(rep).c_str());
  if (guard) std::fprintf(text, "\n%s", work_guard_table(*guard, *baseline, o.baseline_path, o.work.guard).c_str());
  if (out.json) out.json->write(json.dump() + "\n");
  if (out.baseline) {
    out.baseline->write(work_json(rep).dump() + "\n");
    std::fprintf(stderr, "natten-bench: work baseline written to %s\n", o.save_baseline_path.c_str());
  }
  return guard && guard->failed() ? 1 : 0;
}

}  // namespace

int count_work_mode(const Options& o, int argc, char** argv, const BackendFactory& factory) {
  const char* dir = std::getenv(kChildEnv);
  if (dir != nullptr && *dir != '\0') return count_child(o, dir, factory);
  return count_parent(o, argc, argv);
}

}  // namespace natten::bench
