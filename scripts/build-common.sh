# Shared by scripts/test*.sh (sourced): one way to configure, build and test a build folder.
#   natten_configure DIR [cmake args...]   Ninja build of the checkout in DIR
#   natten_build DIR [targets...]          all targets, or the named ones
#   natten_ctest DIR [ctest args...]       the suite, failures shown, a timeout per test
natten_jobs() { nproc; }
natten_configure() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
}
natten_build() {
  local dir=$1
  shift
  if [ $# -gt 0 ]; then
    cmake --build "$dir" -j "$(natten_jobs)" --target "$@"
  else
    cmake --build "$dir" -j "$(natten_jobs)"
  fi
}
natten_ctest() {
  local dir=$1
  shift
  ctest --test-dir "$dir" --output-on-failure -j "$(natten_jobs)" --timeout 600 "$@"
}
