# Sourced by the comparison scripts in benches/: the Python they run and the release binary they measure.
#
#   bench_setup MODULE... -- PACKAGE...   makes target/bench-venv (once) so that every MODULE imports,
#                                         installing the PyPI PACKAGEs, then builds hashlens in release mode
#                                         (the workspace, as `cargo run --release` builds it: `-p` would
#                                         resolve features anew and rebuild).
venv=target/bench-venv

bench_setup() {
  local modules=() packages=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do modules+=("$1"); shift; done
  shift
  packages=("$@")
  local imports
  imports=$(IFS=,; echo "${modules[*]}")
  if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
  fi
  cargo build --release --quiet
}
