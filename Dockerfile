# Build a static binary; the final image holds only it and CA certificates.
#
# Both base images are pinned by digest (the tag stays for readers); Dependabot's docker entry
# (.github/dependabot.yml) proposes the new digest, and the new tag, weekly. No registry is reachable
# where these were written, so each digest is the one public sources showed for that tag:
# - golang:1.26-bookworm: Go 1.26.8, the go line of go.mod. Public repositories pinned
#   golang:1.26-bookworm and golang:1.26.8-bookworm to this digest in October 2026; a build record
#   dated 2026-10-05 ran it and reported go1.26.8.
FROM golang:1.26-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build
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
# - gcr.io/distroless/static-debian12:latest: the multi-architecture index digest that
#   `crane digest gcr.io/distroless/static-debian12:latest` printed on 2026-09-16, as quoted in
#   cybozu/neco-containers pull request #2113.
FROM gcr.io/distroless/static-debian12:latest@sha256:d75cdd72874d4790092fcb1b058493ecf6bb5bf2b2b897045b00ff01d91843f2
# The post step (action.yml runs.post-entrypoint) runs the same binary under
# the name aws-assume-deploy-post: a relative link, copied as a link.
COPY --from=build /out/ /
ENTRYPOINT ["/aws-assume-deploy"]
