# The release image (built by .github/workflows/release.yml): the attested static musl binary of
# each platform, copied in as it is, so the image is not a second build of the sources.
# The build context is laid out as <arch>/folio (amd64, arm64) and an empty data/ folder.
# To build an image from the sources instead, use deploy/Dockerfile.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETARCH
COPY --chmod=0755 ${TARGETARCH}/folio /usr/local/bin/folio
# The one writable place: the SQLite database and the credentials the setup page stores.
COPY --chown=65532:65532 data /data
ENV FOLIO_LISTEN=0.0.0.0:3000 \
    FOLIO_DATABASE_URL=sqlite:///data/folio.db \
    FOLIO_CREDENTIALS_PATH=/data/folio-credentials.json \
    FOLIO_LOG_FORMAT=json
VOLUME ["/data"]
USER 65532:65532
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/folio", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/folio"]
CMD ["serve"]
