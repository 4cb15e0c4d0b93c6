# Build a static binary; the final image holds only it and CA certificates.
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-s -w -X github.com/aws-assume-deploy/aws-assume-deploy/internal/version.Version=${VERSION}" -o /out/aws-assume-deploy . \
 && ln -s aws-assume-deploy /out/aws-assume-deploy-post

# distroless/static carries CA certificates, /etc/passwd and tzdata. The action runs as root:
# the runner mounts /github/file_commands owned by the runner user, and only root can write it.
FROM gcr.io/distroless/static-debian12:latest
# The post step (action.yml runs.post-entrypoint) runs the same binary under
# the name aws-assume-deploy-post: a relative link, copied as a link.
COPY --from=build /out/ /
ENTRYPOINT ["/aws-assume-deploy"]
