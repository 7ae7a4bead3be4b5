# Sourced by scripts/test.sh and scripts/build-wheels.sh (needs $root).
# find_python VERSION -> an interpreter's path on stdout: pyenv's versions,
# then python$VERSION on PATH (GIL builds only); 3.13t is built and cached by
# scripts/build-ft-python.sh. Never a hard-coded machine path.
find_python() {
  local v=$1
  if [ "$v" = 3.13t ]; then
    "$root/scripts/build-ft-python.sh" | tail -n1
    return
  fi
  local candidates=()
  if command -v pyenv >/dev/null; then
    local proot; proot=$(pyenv root)
    for d in "$proot"/versions/"$v".*/bin/python"$v"; do [ -x "$d" ] && candidates+=("$d"); done
  fi
  command -v "python$v" >/dev/null && candidates+=("$(command -v "python$v")")
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(0 if getattr(sys, "_is_gil_enabled", lambda: True)() else 1)' 2>/dev/null; then
      echo "$c"; return
    fi
  done
  return 1
}
