# Lethe container images, built from Debian 12 packages only; nothing is downloaded from
# outside Debian while building.
#
#   docker build --target server -t lethe-server .   lethe-server + lethectl (no LibTorch)
#   docker build --target worker -t lethe-worker .   lethe-worker + lethe-engine + lethectl
#   docker build -t lethe .                          all four binaries in one image
#
# GPU workers: put a CUDA LibTorch archive (cxx11 ABI, 1.13) in deploy/torch/ and build
#   docker build --target worker --build-arg TORCH_DIST=cuda \
#     --build-arg TORCH_ARCHIVE=<file name in deploy/torch/> -t lethe-worker:cuda .
# (docs/operator-guide.md, "GPU workers").
#
# The build stage installs its toolchain with scripts/setup, the same script and package
# list as a developer machine, so the two cannot drift. The runtime stages install only
# the shared libraries listed in deploy/runtime-packages*.txt; tests/ops/check_dockerfile.sh
# checks that they hold no compiler, no -dev package and no test binary.

ARG BUILD_IMAGE=debian:12
ARG RUNTIME_IMAGE=debian:12-slim

# ---------------------------------------------------------------------------------------
FROM ${BUILD_IMAGE} AS build
ARG TORCH_DIST=cpu
ARG TORCH_ARCHIVE=
ENV DEBIAN_FRONTEND=noninteractive CCACHE_DISABLE=1

COPY scripts/setup /src/scripts/setup
RUN /src/scripts/setup && rm -rf /var/lib/apt/lists/*

# CUDA LibTorch: unpack the archive from the build context into /opt/libtorch. Its CMake
# package needs a CUDA toolkit, which comes from Debian (non-free: nvidia-cuda-toolkit).
COPY deploy/torch/ /src/deploy/torch/
RUN set -eu; \
    case "$TORCH_DIST" in \
      cpu) ;; \
      cuda) \
        archive="/src/deploy/torch/$TORCH_ARCHIVE"; \
        if [ -z "$TORCH_ARCHIVE" ] || [ ! -f "$archive" ]; then \
          echo "TORCH_DIST=cuda needs --build-arg TORCH_ARCHIVE=<file in deploy/torch/>" >&2; \
          exit 1; \
        fi; \
        case "$archive" in \
          *.zip) python3 -m zipfile -e "$archive" /opt ;; \
          *.tar.gz|*.tgz) tar -xzf "$archive" -C /opt ;; \
          *) echo "unsupported archive $archive (expected .zip or .tar.gz)" >&2; exit 1 ;; \
        esac; \
        test -f /opt/libtorch/share/cmake/Torch/TorchConfig.cmake; \
        sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' \
          /etc/apt/sources.list.d/debian.sources; \
        apt-get update -qq; \
        apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit; \
        rm -rf /var/lib/apt/lists/* ;; \
      *) echo "TORCH_DIST must be cpu or cuda, got \"$TORCH_DIST\"" >&2; exit 1 ;; \
    esac

COPY . /src
RUN set -eu; \
    torch_args=""; \
    if [ "$TORCH_DIST" = cuda ]; then \
      torch_args="-DLETHE_CUDA=ON -DTorch_DIR=/opt/libtorch/share/cmake/Torch"; \
    fi; \
    cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DLETHE_BUILD_TESTS=OFF -DLETHE_BUILD_BENCHMARKS=OFF $torch_args; \
    cmake --build /build --target lethe-server lethe-worker lethectl lethe-engine

# Stage exactly what the runtime images take: the four binaries, and for a CUDA build the
# LibTorch shared libraries plus the CUDA runtime libraries the binaries load from the
# toolkit (never libcuda.so: the driver comes from the host).
RUN set -eu; \
    install -D -m 0755 -s /build/server/lethe-server /out/bin/lethe-server; \
    install -D -m 0755 -s /build/worker/lethe-worker /out/bin/lethe-worker; \
    install -D -m 0755 -s /build/client/lethectl /out/bin/lethectl; \
    install -D -m 0755 -s /build/engine/cli/lethe-engine /out/bin/lethe-engine; \
    mkdir -p /out/torch-lib; \
    if [ "$TORCH_DIST" = cuda ]; then \
      find /opt/libtorch/lib -maxdepth 1 -name '*.so*' -exec cp -a {} /out/torch-lib/ \; ; \
      ldd /out/bin/lethe-worker /out/bin/lethe-engine \
        | awk '$3 ~ /\/lib(cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|nvrtc|nvToolsExt)[.-]/ {print $3}' \
        | sort -u | xargs -r cp -L -t /out/torch-lib/; \
    fi

# ---------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime-base
ENV DEBIAN_FRONTEND=noninteractive
COPY deploy/runtime-packages.txt /tmp/runtime-packages.txt
RUN set -eu; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends $(sed -e 's/#.*//' /tmp/runtime-packages.txt); \
    rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt; \
    groupadd --system --gid 10001 lethe; \
    useradd --system --uid 10001 --gid lethe --home-dir /var/lib/lethe \
      --shell /usr/sbin/nologin lethe; \
    install -d -o lethe -g lethe -m 0750 /var/lib/lethe /var/lib/lethe/models \
      /var/lib/lethe/evaluator /var/lib/lethe/staging
COPY deploy/docker-entrypoint.sh /usr/local/bin/lethe-entrypoint
# The schema is compiled into the binaries (`lethe-server migrate` applies it); the SQL is
# shipped alongside for operators to read.
COPY migrations/ /usr/share/lethe/migrations/
WORKDIR /var/lib/lethe
ENTRYPOINT ["/usr/local/bin/lethe-entrypoint"]

# ---------------------------------------------------------------------------------------
FROM runtime-base AS server
COPY --from=build /out/bin/lethe-server /out/bin/lethectl /usr/local/bin/
USER lethe:lethe
# gRPC, /metrics
EXPOSE 7443 9464
CMD ["lethe-server", "--listen=0.0.0.0:7443", "--metrics-listen=0.0.0.0:9464"]

# ---------------------------------------------------------------------------------------
FROM runtime-base AS worker
ARG TORCH_DIST=cpu
COPY deploy/runtime-packages-worker.txt /tmp/runtime-packages-worker.txt
RUN set -eu; \
    packages=$(sed -e 's/#.*//' /tmp/runtime-packages-worker.txt); \
    if [ "$TORCH_DIST" != cpu ]; then \
      packages=$(echo "$packages" | grep -v -e '^libtorch' -e '^libopenblas' || true); \
    fi; \
    apt-get update -qq; \
    apt-get install -y -qq --no-install-recommends $packages; \
    rm -rf /var/lib/apt/lists/* /tmp/runtime-packages-worker.txt
# Empty for TORCH_DIST=cpu; the CUDA LibTorch libraries otherwise.
COPY --from=build /out/torch-lib/ /opt/libtorch/lib/
ENV LD_LIBRARY_PATH=/opt/libtorch/lib \
    OMP_WAIT_POLICY=PASSIVE
COPY --from=build /out/bin/lethe-worker /out/bin/lethe-engine /out/bin/lethectl /usr/local/bin/
USER lethe:lethe
# /metrics
EXPOSE 9465
CMD ["lethe-worker", "--metrics-listen=0.0.0.0:9465"]

# ---------------------------------------------------------------------------------------
# The default target: every binary in one image (single-host installs, trying things out).
FROM worker AS all
COPY --from=build /out/bin/lethe-server /usr/local/bin/
EXPOSE 7443 9464 9465
CMD ["lethe-server", "--listen=0.0.0.0:7443", "--metrics-listen=0.0.0.0:9464"]
