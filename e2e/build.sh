#!/usr/bin/env bash
# Build the control plane the end-to-end tests run on: kube-apiserver, kube-controller-manager, kube-scheduler
# and etcd from the Go module proxy, kwok and kwokctl with `go install`. Everything goes to a cache folder
# outside the repository; a second run with the same versions only checks that the binaries are there.
#
#   e2e/build.sh              build (or reuse) the binaries, print where they are
#   e2e/build.sh --print-dir  print the binary folder and exit
#
# Environment: PODMORTEM_E2E_K8S (default v1.36.3), PODMORTEM_E2E_KWOK (v0.8.0), PODMORTEM_E2E_ETCD
# (v3.6.8), PODMORTEM_E2E_CACHE (default ~/.cache/podmortem-e2e/<k8s-version>), GOPROXY as configured.
set -euo pipefail

K8S_VERSION=${PODMORTEM_E2E_K8S:-v1.36.3}
KWOK_VERSION=${PODMORTEM_E2E_KWOK:-v0.8.0}
ETCD_VERSION=${PODMORTEM_E2E_ETCD:-v3.6.8}
CACHE=${PODMORTEM_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podmortem-e2e/$K8S_VERSION}
BIN=$CACHE/bin

if [ "${1:-}" = "--print-dir" ]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "e2e/build.sh: no 'go' on PATH" >&2; exit 1; }

# The staging modules are published as v0.<minor>.<patch> of the same release.
staging_version="v0${K8S_VERSION#v1}"
major=${K8S_VERSION#v}; major=${major%%.*}
minor=${K8S_VERSION#v*.}; minor=${minor%%.*}

mkdir -p "$BIN" "$CACHE/wrapper"
export GOCACHE=$CACHE/gocache GOMODCACHE=$CACHE/gomod GOPATH=$CACHE/gopath
export GOFLAGS=-mod=mod CGO_ENABLED=0 GOTOOLCHAIN=${GOTOOLCHAIN:-local}
# Build and module caches are write-protected by Go; keep them removable with a plain rm -rf.
export GOFLAGS="$GOFLAGS -modcacherw"

stamp=$CACHE/versions
want="k8s=$K8S_VERSION kwok=$KWOK_VERSION etcd=$ETCD_VERSION go=$(go env GOVERSION)"
binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl)

have_all() {
  local b
  for b in "${binaries[@]}"; do [ -x "$BIN/$b" ] || return 1; done
  [ -f "$CACHE/kwok-crds/kwok.x-k8s.io_logs.yaml" ] || return 1
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]
}

if have_all; then
  echo "e2e/build.sh: cached ($want) in $BIN"
  exit 0
fi

echo "e2e/build.sh: building $want into $BIN (GOPROXY=$(go env GOPROXY))"
t0=$(date +%s)
step() { # step NAME COMMAND...: run one build step and say how long it took
  local name=$1 s
  shift
  s=$(date +%s)
  echo "  -> $name"
  "$@"
  echo "     $name: $(( $(date +%s) - s )) s"
}

# 1. A wrapper module that requires k8s.io/kubernetes at the pinned release. Its go.mod replaces each
#    k8s.io/* staging module with the published version (k8s.io/kubernetes points them at ./staging, which a
#    dependency cannot use).
wrapper=$CACHE/wrapper
if ! k8s_mod_json=$(cd "$wrapper" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION"); then
  printf '%s\n' "$k8s_mod_json" | sed -n 's/^[[:space:]]*"Error": /e2e\/build.sh: /p' >&2
  echo "e2e/build.sh: cannot download k8s.io/kubernetes@$K8S_VERSION from the module proxy" >&2
  exit 1
fi
k8s_gomod=$(printf '%s\n' "$k8s_mod_json" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
[ -f "$k8s_gomod" ] || { echo "e2e/build.sh: could not download k8s.io/kubernetes@$K8S_VERSION" >&2; exit 1; }
staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._/-]*\) => \./staging/.*#\1#p' "$k8s_gomod" | sort -u)
{
  echo "module podmortem.invalid/e2e-control-plane"
  echo
  echo "go $(go env GOVERSION | sed 's/^go//; s/^\([0-9]*\.[0-9]*\).*/\1/').0"
  echo
  echo "require ("
  echo "	k8s.io/kubernetes $K8S_VERSION"
  echo "	go.etcd.io/etcd/server/v3 $ETCD_VERSION"
  echo ")"
  echo
  echo "tool ("
  echo "	go.etcd.io/etcd/server/v3"
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
  echo "	k8s.io/kubernetes/cmd/kube-scheduler"
  echo ")"
  echo
  echo "replace ("
  for m in $staging; do echo "	$m => $m $staging_version"; done
  echo ")"
} > "$wrapper/go.mod.new"
if ! cmp -s "$wrapper/go.mod.new" "$wrapper/go.mod.src" 2>/dev/null; then
  cp "$wrapper/go.mod.new" "$wrapper/go.mod"
  cp "$wrapper/go.mod.new" "$wrapper/go.mod.src"
  rm -f "$wrapper/go.sum"
fi
rm -f "$wrapper/go.mod.new"
echo "  wrapper module $wrapper: k8s.io/kubernetes $K8S_VERSION, $(echo "$staging" | wc -w) staging modules at $staging_version"
step "go mod tidy (wrapper)" bash -c "cd '$wrapper' && go mod tidy"

# 2. The control plane, with the version stamped in as hack/lib/version.sh does.
build_date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done
for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
  step "$cmd" bash -c "cd '$wrapper' && go build -trimpath -ldflags '$ldflags' -o '$BIN/$cmd' k8s.io/kubernetes/cmd/$cmd"
done
# etcd's own go.mod has local replace directives, so `go install go.etcd.io/etcd/server/v3@...` is refused;
# as a dependency of the wrapper module it builds.
step "etcd" bash -c "cd '$wrapper' && go build -trimpath -ldflags '-s -w' -o '$BIN/etcd' go.etcd.io/etcd/server/v3"

# 3. kwok (the fake-node controller) and kwokctl.
step "kwok, kwokctl" env GOBIN="$BIN" go install -trimpath -ldflags "-s -w" \
  "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"

# kwok reads container logs from its Logs objects: keep the CRDs of the same release next to the binaries.
kwok_dir=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
mkdir -p "$CACHE/kwok-crds"
for crd in logs clusterlogs; do
  cp "$kwok_dir/kustomize/crd/bases/kwok.x-k8s.io_$crd.yaml" "$CACHE/kwok-crds/"
done
chmod u+w "$CACHE/kwok-crds"/*.yaml

for b in "${binaries[@]}"; do [ -x "$BIN/$b" ] || { echo "e2e/build.sh: $b missing after the build" >&2; exit 1; }; done
echo "$want" > "$stamp"
"$BIN/kube-apiserver" --version
"$BIN/etcd" --version | head -1
"$BIN/kwok" --version 2>/dev/null | head -1 || true
echo "e2e/build.sh: built in $(( $(date +%s) - t0 )) s into $BIN"
