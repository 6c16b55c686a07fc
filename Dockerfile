# Release image: the backend binary and the built site (wasm, JS, CSS).
# Build:  docker build -t secure-reference .
FROM rust:1.95-bookworm AS build
RUN rustup target add wasm32-unknown-unknown \
 && apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# scripts/ensure-tools installs cargo-leptos, the pinned wasm-bindgen-cli and binaryen.
RUN bash -c '. scripts/ensure-tools --release && cargo leptos build --release'

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /app app
WORKDIR /app
COPY --from=build /src/target/release/backend /app/backend
COPY --from=build /src/target/site /app/site
ENV APP_ENV=production \
    APP_ADDR=0.0.0.0:3000 \
    APP_DATA_DIR=/app/data \
    LEPTOS_SITE_ROOT=/app/site
USER app
EXPOSE 3000
HEALTHCHECK CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/3000"]
ENTRYPOINT ["/app/backend"]
CMD ["serve"]
