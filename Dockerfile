# consent-portal: one binary and a SQLite database on a volume.
#   docker build -t consent-portal .
#   docker run -p 8080:8080 -v portal-data:/data -e PORTAL_PUBLIC_URL=... consent-portal

FROM rust:1-slim-bookworm AS build
WORKDIR /src
# The whole context, filtered by .dockerignore: whatever the crates read at compile time (catalogues,
# templates, migrations, static files, the workspace's fake-entra crate) is there without a list to keep.
COPY . .
# Without the default `demo` feature: the production image carries no fake identity platform (no code
# that mints tokens), and no `demo`, `fake-entra` or `bench` subcommand.
RUN cargo build --release --locked --no-default-features --bin consent-portal

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin portal \
 && mkdir -p /data \
 && chown portal:portal /data
COPY --from=build /src/target/release/consent-portal /usr/local/bin/consent-portal
USER portal
WORKDIR /data
ENV PORTAL_BIND=0.0.0.0:8080 \
    PORTAL_DATABASE_URL=sqlite:///data/consent-portal.db \
    PORTAL_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/consent-portal", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/consent-portal"]
CMD ["serve"]
