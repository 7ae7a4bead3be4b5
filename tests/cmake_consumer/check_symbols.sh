#!/usr/bin/env bash
# Checks what libinterlock.so exports against the public headers:
#   * every exported symbol belongs to interlock's public API: it is in
#     namespace interlock (not an anonymous namespace) and every part of its
#     name is declared in include/interlock/. Exception: weak / unique
#     instances of std:: templates (a std::map<std::string, int> used in a
#     .cpp): libstdc++ declares namespace std with default visibility, so
#     -fvisibility=hidden cannot hide them; every user that instantiates the
#     same template merges with them, which is harmless;
#   * every public, out-of-line symbol of the static library (same sources) is
#     exported, i.e. nothing a header declares lacks INTERLOCK_API.
# Internals (src/*.hpp, .cpp-local helpers) must stay hidden. Names in a
# public header's `detail` namespace count as public: the headers' inline code
# calls them, so they are part of the ABI even though users never name them.
#
# Usage: check_symbols.sh LIBINTERLOCK.a LIBINTERLOCK.so INCLUDE_DIR
set -euo pipefail
archive=$1 shared=$2 include=$3
command -v nm >/dev/null || { echo "check_symbols: nm (binutils) not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The public headers' code, without // comments, one identifier per line.
sed 's://.*$::' "$include"/interlock/*.hpp | grep -oE '[A-Za-z_][A-Za-z0-9_]*' | sort -u \
  > "$tmp/words"

# "TYPE<TAB>demangled name" of defined symbols.
nm -DC --defined-only "$shared" | sed -nE 's/^[0-9a-f]+ ([A-Za-z]) (.*)$/\1\t\2/p' \
  | sort -u > "$tmp/exported"
nm -C --defined-only -g "$archive" 2>/dev/null | sed -nE 's/^[0-9a-f]+ ([A-Za-z]) (.*)$/\1\t\2/p' \
  | sort -u > "$tmp/static"

# Is the symbol's name public? Prints nothing and returns 0 if so, else
# prints the first part of the name no public header declares.
undeclared_part() {
  local name=$1
  # typeinfo/vtable of a class: judge the class.
  name=${name#typeinfo name for }; name=${name#typeinfo for }; name=${name#vtable for }
  case $name in interlock::*) ;; *) echo "(outside namespace interlock)"; return 1 ;; esac
  case $name in *"(anonymous namespace)"*) echo "(anonymous namespace)"; return 1 ;; esac
  # Drop template arguments (innermost first), then the parameter list.
  local prev=""
  while [ "$name" != "$prev" ]; do prev=$name; name=$(sed -E 's/<[^<>]*>//g' <<<"$name"); done
  name=${name%%(*}
  name=$(sed -E 's/\[abi:[^]]*\]//g' <<<"$name")  # libstdc++'s ABI tags
  local part
  IFS=: read -ra parts <<<"${name#interlock::}"
  for part in "${parts[@]}"; do
    part=${part#\~}
    [ -z "$part" ] && continue
    case $part in operator*) continue ;; esac
    grep -qxF "$part" "$tmp/words" || { echo "$part"; return 1; }
  done
  return 0
}

status=0
n_exported=0
n_std=0
while IFS=$'\t' read -r type name; do
  case $type:$name in [WVuw]:std::*|[WVuw]:"typeinfo for std::"*|[WVuw]:"typeinfo name for std::"*|[WVuw]:"vtable for std::"*)
    n_std=$((n_std + 1)); continue ;;
  esac
  # A function template instance demangles with its return type first
  # ("void std::__detail::__to_chars_10_impl<unsigned long>(...)").
  if [[ $type == [WVuw] && $name =~ ^[A-Za-z_][A-Za-z0-9_\ ]*\ std:: ]]; then
    n_std=$((n_std + 1)); continue
  fi
  n_exported=$((n_exported + 1))
  if ! why=$(undeclared_part "$name"); then
    echo "    LEAK: libinterlock.so exports $name [$type]: '$why' is not public API"
    status=1
  fi
done < "$tmp/exported"

n_hidden=0
hidden_names=()
while IFS=$'\t' read -r type name; do
  # Strong definitions only: weak ones (W/V/u) are inline functions and
  # template instances every user compiles for itself.
  case $type in T|D|B|R) ;; *) continue ;; esac
  grep -qxF "$type"$'\t'"$name" "$tmp/exported" && continue
  if undeclared_part "$name" >/dev/null; then
    echo "    MISSING: $name is declared in a public header but not exported" \
         "(add INTERLOCK_API to its declaration)"
    status=1
  else
    n_hidden=$((n_hidden + 1))
    hidden_names+=("${name%%(*}")
  fi
done < "$tmp/static"

if [ "$n_exported" = 0 ]; then
  echo "    no symbols exported at all from $shared"
  status=1
fi
if [ $status = 0 ]; then
  echo "    ok: $n_exported exported symbols, all public API; every public out-of-line symbol exported"
  [ "$n_std" = 0 ] || echo "    (and $n_std weak std:: template instances, which default visibility cannot hide)"
  echo "    ok: $n_hidden internal symbols hidden${hidden_names:+ (${hidden_names[*]})}"
fi
exit $status
