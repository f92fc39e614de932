# The release image (built by .github/workflows/release.yml): the attested static musl binary of
# each platform, copied in as it is, so the image is not a second build of the sources.
# The build context is laid out as <arch>/folio (amd64, arm64) and an empty data/ folder.
# To build an image from the sources instead, use deploy/Dockerfile.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETARCH
COPY --chmod=0755 ${TARGETARCH}/folio /usr/local/bin/folio
# The one writable place: the SQLite database and the credentials the setup page stores.
COPY --chown=65532:65532 data /data
# The admin listener (/metrics, the status page) listens on the container's address so that a
# Prometheus on the same network can scrape it; publish it, if at all, to loopback only
# (-p 127.0.0.1:9090:9090).
ENV FOLIO_LISTEN=0.0.0.0:3000 \
    FOLIO_ADMIN_LISTEN=0.0.0.0:9090 \
    FOLIO_DATABASE_URL=sqlite:///data/folio.db \
    FOLIO_CREDENTIALS_PATH=/data/folio-credentials.json \
    FOLIO_LOG_FORMAT=json
VOLUME ["/data"]
USER 65532:65532
EXPOSE 3000
EXPOSE 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/folio", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/folio"]
CMD ["serve"]
