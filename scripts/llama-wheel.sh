#!/usr/bin/env bash
# Build (once per version, CMake flags, Python and CPU architecture) and install a
# portable llama-cpp-python into the given Python's environment.
#
# Why: a native llama.cpp build (-march=native) enables the AMX kernels on recent
# Intel Xeons, and `ggml_backend_amx_mul_mat` segfaults there (llama.cpp issue 20824).
# pip's wheel cache ignores CMAKE_ARGS, so a cached native wheel would come back even
# after changing the flags: the wheel is built with --no-cache-dir into a wheelhouse
# keyed by everything that shapes it, and installed from there with --no-index.
#
# usage: scripts/llama-wheel.sh PYTHON [--print-house]
#   LLAMA_CMAKE_ARGS   override the CMake flags (a different key, a separate wheel)
#   AUTOTUNE_WHEELHOUSE  where wheels are kept (default ~/.cache/autotune/wheelhouse)
set -euo pipefail

python=${1:?usage: scripts/llama-wheel.sh PYTHON}
here=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^llama[-_]cpp[-_]python==\(.*\)$/\1/Ip' "$here/constraints.txt")
[ -n "$version" ] || { echo "constraints.txt pins no llama-cpp-python version" >&2; exit 2; }

arch=$(uname -m)
case "$arch" in
  x86_64|amd64)
    # AVX2/FMA/F16C run on every x86-64 CPU of the last decade; AMX and AVX-512 stay off.
    # AMX crashes. Measured on an AMX Xeon (CPU seconds, one thread, vs this build):
    # GGML_AVX512 alone no faster (prompt 1.01x, generation 0.94x); with VBMI/VNNI/BF16
    # prompt 1.07x, generation 1.01x; native without AMX prompt 1.12x, generation 1.01x:
    # at most 10% per request, not worth a wheel that runs on fewer CPUs
    # (benchmarks/results/llama_builds.md).
    default_flags="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" ;;
  *)
    default_flags="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" ;;
esac
flags=${LLAMA_CMAKE_ARGS:-$default_flags}
pytag=$("$python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
key=$(printf '%s|%s|%s|%s' "$version" "$flags" "$pytag" "$arch" | sha256sum | cut -c1-12)
root=${AUTOTUNE_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/autotune/wheelhouse}
house="$root/llama-cpp-python-$version-$key"
if [ "${2:-}" = "--print-house" ]; then echo "$house"; exit 0; fi
mkdir -p "$house"

find_wheel() { ls "$house"/llama_cpp_python-"$version"-*.whl 2>/dev/null | head -n 1; }

# One build at a time per wheelhouse (several checkouts may run make at once).
exec 9>"$house/.lock"
flock 9
if [ -z "$(find_wheel)" ]; then
  echo "building llama-cpp-python $version (portable: $flags); this takes 5-7 minutes once" >&2
  tmp=$(mktemp -d "$house/.build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  CMAKE_ARGS="$flags" "$python" -m pip wheel -q --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$version" -w "$tmp"
  mv "$tmp"/llama_cpp_python-*.whl "$house"/
  printf '%s\n' "$flags" > "$house/CMAKE_ARGS"
fi
wheel=$(find_wheel)

# Reinstall only when this environment holds another build (marker written below).
site=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
marker="$site/autotune_llama_build.txt"
if [ "$(cat "$marker" 2>/dev/null)" != "$key" ] || ! "$python" -c 'import llama_cpp' 2>/dev/null; then
  "$python" -m pip install -q --force-reinstall --no-deps --no-index "$wheel"
  # llama-cpp-python's own dependencies (numpy, jinja2, diskcache, typing-extensions).
  "$python" -m pip install -q -c "$here/constraints.txt" numpy jinja2 diskcache typing-extensions
  printf '%s\n' "$key" > "$marker"
fi
echo "$wheel"
