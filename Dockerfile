# Multi-stage build of a static replicator binary.
#   docker build -t replicator .
#   docker run --rm -e MYSQL_PASSWORD=... -v $PWD/config.toml:/etc/replicator/config.toml replicator
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/replicator ./cmd/replicator

FROM scratch
# CA certificates for verified TLS to the source and the targets.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/replicator /usr/local/bin/replicator
USER 65532:65532
EXPOSE 9187
ENTRYPOINT ["/usr/local/bin/replicator"]
CMD ["run", "-c", "/etc/replicator/config.toml", "--log-format", "json"]
