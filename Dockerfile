# syntax=docker/dockerfile:1
#
# tusvault's container image: a static binary on distroless, running as
# nonroot, with the uploads (local disk), the default keyring and auth
# secret, and the spool under one volume, /data. Configure it with
# TUSVAULT_<FLAG> variables or flags after the image name; give secrets as
# files (Docker secrets: -keyring /run/secrets/..., -auth-secret-file ...).
# See "Deploying" in the README; deploy/compose.yaml runs two instances on
# MinIO behind a proxy.
#
#   docker build -t tusvault --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) .
#   docker run -p 8080:8080 -v tusvault-data:/data tusvault

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY cmd/ cmd/
COPY hooks/ hooks/
COPY internal/ internal/
COPY store/ store/
COPY web/ web/
# Version information: the build context has no .git, so Go's VCS stamp is
# missing; these land in main.version, main.commit and main.date
# (tusvault version).
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/tusvault ./cmd/tusvault
# The volume's mount point, owned by nonroot (65532) so that a fresh named
# volume is writable by it.
RUN mkdir -p /out/data && chown 65532:65532 /out/data && chmod 0700 /out/data

# static-debian12 holds CA certificates (for S3 over https), /etc/passwd
# with nonroot, tzdata; no shell, no curl: the health check is the binary's.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tusvault /tusvault
COPY --from=build --chown=65532:65532 /out/data /data
# Uploads, the default keyring and auth secret (local disk only; with
# -s3-bucket give -keyring and -auth-secret-file) and the spool
# (<upload-dir>/.tusvault/spool) under one volume. A variable, not a
# flag in CMD, so that flags after the image name and the subcommands
# (docker exec ... /tusvault decrypt ID) keep it.
ENV TUSVAULT_UPLOAD_DIR=/data
VOLUME /data
USER 65532:65532
EXPOSE 8080
# GETs http://127.0.0.1:$TUSVAULT_PORT/healthz (8080 by default); exits 1
# when unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/tusvault", "healthcheck"]
ENTRYPOINT ["/tusvault"]
CMD ["serve"]
