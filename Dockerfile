# syntax=docker/dockerfile:1
#
# Release image: the backend binary and the built site (wasm, JS, CSS), run
# as an unprivileged user on a read-only root filesystem.
#
#   docker build -t secure-reference .        (or: docker compose build)
#
# The build is the one scripts/run --release does (cargo-leptos, the pinned
# wasm-bindgen-cli, npm's binaryen 132 as wasm-opt), with the tools installed
# in their own layers so a source change does not reinstall them.

# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml (checked below, after
# the sources are copied): the CLI generates the JS glue for that exact crate.
ARG WASM_BINDGEN_VERSION=0.2.130
ARG CARGO_LEPTOS_VERSION=0.3.10
ARG BINARYEN_VERSION=132.0.0

############################################################ wasm-opt
# Debian's binaryen is older and its wasm-opt produces a bundle that fails
# to hydrate; npm's binaryen 132 is used instead (as in scripts/ensure-tools).
# Its wasm-opt is a Node script: Node comes from the official image (a
# current LTS; Debian's is older).
FROM node:22-bookworm-slim AS binaryen
ARG BINARYEN_VERSION
RUN npm install --prefix /opt/binaryen --no-audit --no-fund --no-save "binaryen@${BINARYEN_VERSION}"

############################################################ build tools
# The Rust version this repository is built and tested with (Cargo.toml's
# rust-version is the minimum; cargo-leptos 0.3.10 is kept for it).
FROM rust:1.95-bookworm AS tools
ARG WASM_BINDGEN_VERSION
ARG CARGO_LEPTOS_VERSION
ARG BINARYEN_VERSION

RUN rustup target add wasm32-unknown-unknown

RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo install --locked "cargo-leptos@${CARGO_LEPTOS_VERSION}" \
 && cargo install --locked "wasm-bindgen-cli@${WASM_BINDGEN_VERSION}"

# npm's wasm-opt first on PATH, so cargo-leptos uses it.
COPY --from=binaryen /usr/local/bin/node /usr/local/bin/node
COPY --from=binaryen /opt/binaryen /opt/binaryen
ENV PATH=/opt/binaryen/node_modules/.bin:$PATH
RUN wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}"

############################################################ build
FROM tools AS build
ARG WASM_BINDGEN_VERSION
WORKDIR /src
COPY . .
RUN grep -q "^wasm-bindgen = \"=${WASM_BINDGEN_VERSION}\"" Cargo.toml \
 || { echo "Cargo.toml pins another wasm-bindgen; set --build-arg WASM_BINDGEN_VERSION to it" >&2; exit 1; }
# target/ is a cache mount (kept between builds, not part of any layer), so
# the results are copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    RUSTFLAGS="--cfg erase_components" cargo leptos build --release --split \
 && mkdir -p /out \
 && cp target/release/backend /out/backend \
 && cp -r target/site /out/site

############################################################ runtime
# debian-slim rather than distroless: the same glibc as the build stage, and
# bash for the health check (deploy/healthcheck talks HTTP over bash's
# /dev/tcp; distroless has no shell and no HTTP client, and the backend has
# no health-check subcommand). No curl or wget is installed.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
# Owned by root and not writable by the app: the image works with a
# read-only root filesystem (docker run --read-only / compose read_only).
# Nothing is written at run time in production: keys and the database URL
# come from secrets, data lives in PostgreSQL, logs go to stdout. Give the
# container a tmpfs at /tmp for anything transient.
COPY --from=build /out/backend /app/backend
COPY --from=build /out/site /app/site
COPY --chmod=0755 deploy/healthcheck /usr/local/bin/healthcheck
ENV APP_ENV=production \
    APP_ADDR=0.0.0.0:3000 \
    ADMIN_ADDR=0.0.0.0:3001 \
    APP_DATA_DIR=/app/data \
    LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_OUTPUT_NAME=frontend
USER 10001:10001
# 3000: the public listener (APP_ADDR). 3001: the management listener
# (ADMIN_ADDR: admin API and pages, /metrics); never publish it on the
# public port.
EXPOSE 3000 3001
# Liveness only (GET /healthz, which never touches the database): a database
# outage must not get every replica restarted; readiness is /readyz, for the
# load balancer (deploy/healthcheck says why).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/healthcheck"]
ENTRYPOINT ["/app/backend"]
CMD ["serve"]
