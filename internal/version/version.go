// Package version holds the build version, injected with -ldflags -X.
package version

// Version is set at build time; "dev" for local builds.
var Version = "dev"
