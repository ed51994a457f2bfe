#!/usr/bin/env bash
# Stand-in base images for machines that cannot reach a container registry (mcr.microsoft.com, Docker Hub):
# built from Debian 12's packages (debootstrap, then `docker import`) and this machine's .NET installation,
# behaving like the official images where the deployment relies on it (deploy/docker/stand-ins/*.Dockerfile
# say how). Builds only the images that are missing, unless --rebuild.
#   scripts/container-base-images.sh [--rebuild] [--cuda]   build them (--cuda: also the nvidia/cuda stand-in)
#   scripts/container-base-images.sh --env                  print the variables that make docker-compose.yml and
#                                                            the Dockerfiles use them:  eval "$(... --env)"
# Needs Docker and debootstrap (root); scripts/test-containers.sh installs both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
stand_ins="$root/deploy/docker/stand-ins"

debian=nerservice-standin/debian:bookworm
declare -A images=(
  [SDK_IMAGE]=nerservice-standin/dotnet-sdk:10.0
  [ASPNET_IMAGE]=nerservice-standin/dotnet-aspnet:10.0
  [POSTGRES_IMAGE]=nerservice-standin/postgres:15
  [NGINX_IMAGE]=nerservice-standin/nginx:1.22
  [CUDA_IMAGE]=nerservice-standin/cuda-base:12.8
)

print_env() {
  for name in SDK_IMAGE ASPNET_IMAGE POSTGRES_IMAGE NGINX_IMAGE CUDA_IMAGE; do
    echo "export $name=${images[$name]}"
  done
  # Debian's nginx 1.22 cannot re-resolve upstream names (`resolve` needs 1.27.3).
  echo "export GATEWAY_UPSTREAM=upstream.static.conf"
  # Dockerfile.cuda's runtime packages under their Debian 12 names (the default names are Ubuntu 24.04's).
  echo "export CUDA_RUNTIME_PACKAGES='ca-certificates libicu72 libssl3 tzdata zlib1g'"
}

rebuild=false
cuda=false
for argument in "$@"; do
  case "$argument" in
    --env) print_env; exit 0 ;;
    --rebuild) rebuild=true ;;
    --cuda) cuda=true ;;
    *) echo "usage: $0 [--rebuild] [--cuda] | --env" >&2; exit 2 ;;
  esac
done

present() { [ "$rebuild" = false ] && docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Debian 12, minimal: the base of every other stand-in.
if ! present "$debian"; then
  # The Debian mirror apt uses here (deb822 or one-line sources), else Debian's own.
  mirror="$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | sed -n 's/^URIs: *//p; s/^deb \+\(http[^ ]*\) \+bookworm .*/\1/p' | grep -E '/debian/?$' | head -n1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  echo "Building $debian from $mirror (debootstrap, about a minute)" >&2
  nice -n 10 debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # As Docker's official Debian images: no service starts from a package's install script, no cached packages.
  printf '#!/bin/sh\nexit 101\n' > "$work/rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$work/rootfs/usr/sbin/policy-rc.d"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$debian" >/dev/null
  rm -rf "$work/rootfs"
fi

build() { # image, Dockerfile in stand-ins/, context folder
  echo "Building $1" >&2
  nice -n 10 docker build -q --build-arg DEBIAN_IMAGE="$debian" -t "$1" -f "$stand_ins/$2" "$3" >/dev/null
}

# The .NET installation this machine builds the project with: the SDK image gets all of it, the runtime
# image only the host and the two shared frameworks the API runs on. Hard links where possible: no copy.
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
link_copy() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

if ! present "${images[SDK_IMAGE]}"; then
  mkdir -p "$work/sdk/certs"
  link_copy "$dotnet_root" "$work/sdk/dotnet"
  # The certificates update-ca-certificates adds to the system's (a TLS-intercepting proxy's authority).
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$work/sdk/certs/" \;
  build "${images[SDK_IMAGE]}" sdk.Dockerfile "$work/sdk"
  rm -rf "$work/sdk"
fi

if ! present "${images[ASPNET_IMAGE]}"; then
  mkdir -p "$work/aspnet/dotnet/shared"
  link_copy "$dotnet_root/dotnet" "$work/aspnet/dotnet/dotnet"
  link_copy "$dotnet_root/host" "$work/aspnet/dotnet/host"
  for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    link_copy "$dotnet_root/shared/$framework" "$work/aspnet/dotnet/shared/$framework"
  done
  build "${images[ASPNET_IMAGE]}" aspnet.Dockerfile "$work/aspnet"
  rm -rf "$work/aspnet"
fi

present "${images[POSTGRES_IMAGE]}" || build "${images[POSTGRES_IMAGE]}" postgres.Dockerfile "$stand_ins"
present "${images[NGINX_IMAGE]}" || build "${images[NGINX_IMAGE]}" nginx.Dockerfile "$stand_ins"
if [ "$cuda" = true ] && ! present "${images[CUDA_IMAGE]}"; then
  build "${images[CUDA_IMAGE]}" cuda.Dockerfile "$stand_ins"
fi
echo "Stand-in base images ready: eval \"\$($0 --env)\" to use them." >&2
