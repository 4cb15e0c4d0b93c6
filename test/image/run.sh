#!/usr/bin/env bash
# The real image, built and run here (issue 7).
#
# GitHub builds this action's Dockerfile and runs the image in every job that
# uses it. No Go test sees whether that image builds, can write the runner's
# file commands, or carries CA certificates, so this script:
#   1. installs rootful podman from Debian and configures it privately, with
#      host networking only (podman can never create a bridge here);
#   2. checks every base image of the Dockerfile is pinned by digest
#      (name:tag@sha256:...) and imports stand-in base images under the name:tag
#      of each FROM line (no registry is reachable from this machine);
#   3. builds the real Dockerfile with `podman build --pull=never --network host`,
#      from a copy whose FROM lines drop the digests (a stand-in cannot have them);
#   4. runs the image the way GitHub's runner runs a Docker action, against moto
#      on 127.0.0.1, and checks the file commands, outputs and masking, for
#      stored keys, GitHub OIDC, HTTPS through the image's CA bundle, a failure
#      and a CloudFormation deploy;
#   5. runs the example workflows in test/image/workflows with nektos/act
#      through podman's Docker API socket;
#   6. removes everything it started or mounted, and prints phase timings.
#
# Run it from anywhere as root:  bash test/image/run.sh
# It skips (exit 0, "SKIP: ...") when not root or podman cannot be installed,
# and fails loudly otherwise. It ends with "image: N passed, M failed".
# Cold (nothing installed or cached) it takes about 3.5 minutes, warm under one.
#
# Settings (environment):
#   IMAGE_TEST_BUILD=proxy    the build's `go mod download` reaches the Go proxy over the
#                             host network, with the host's GOPROXY and CA bundle (default)
#   IMAGE_TEST_BUILD=offline  the build has no network: the host module cache is mounted
#                             read-only with GOPROXY=off (the host fills it first)
#   IMAGE_TEST_COLD=1         build without the cached Go build cache, as GitHub does
#   IMAGE_TEST_ACT=0          skip the act phase
#   IMAGE_TEST_CACHE=DIR      the cache: stand-in images, act, Go build cache, test CA
#                             (default /var/cache/aws-assume-deploy-image)
#   IMAGE_TEST_KEEP=1         keep the work dir (processes and mounts are still cleaned up)
set -euo pipefail

readonly ACT_VERSION=v0.2.89
# Bump when the stand-in images change, so the cached ones are rebuilt.
readonly STANDIN_REV=1
readonly IMAGE=localhost/aws-assume-deploy:image-test
readonly JOB_IMAGE=localhost/aws-assume-deploy-job:bash
readonly LABEL=aws-assume-deploy-image-test
# moto's default account; AssumeRole answers for any role ARN in it.
readonly ACCOUNT=123456789012
readonly ROLE_ARN="arn:aws:iam::${ACCOUNT}:role/deploy"

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

MODE=${IMAGE_TEST_BUILD:-proxy}
case $MODE in proxy | offline) ;; *)
	echo "FAIL: IMAGE_TEST_BUILD must be proxy or offline, not $MODE" >&2
	exit 2
	;;
esac

say() { printf '[image] %s\n' "$*" >&2; }
die() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 0
}

[[ $EUID -eq 0 ]] || skip "test/image/run.sh needs root for rootful podman (uid $EUID)"
[[ $(uname -m) == x86_64 ]] || skip "the stand-in images are built for amd64 only"

CACHE=${IMAGE_TEST_CACHE:-/var/cache/aws-assume-deploy-image}
mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/aws-assume-deploy-image.XXXXXX")
chmod 755 "$WORK"

# --- timings ------------------------------------------------------------------
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
T_START=$(now_ms)
T_PHASE=$T_START
PHASE=setup
TIMINGS=()
phase() {
	local t
	t=$(now_ms)
	TIMINGS+=("$(printf '%-22s %7.1f s' "$PHASE" "$(((t - T_PHASE) / 100))e-1")")
	T_PHASE=$t
	PHASE=$1
	say "== $1"
}

# --- cleanup ------------------------------------------------------------------
# Host state that podman or runc create on first use: what we create we remove.
declare -A EXISTED=()
for p in /run/runc /run/netns /run/mount /var/lib/containers /sys/fs/cgroup/memory/libpod_parent; do
	[[ -e $p ]] && EXISTED[$p]=1
done
NETIFS_BEFORE=$(ls /sys/class/net)
PIDS=()
CHECKS=0 # checks begun; each one that finishes begins the next or ends the run
PODMAN_READY=
STORE=
RUNDIR=/run/aws-assume-deploy-image
KEEP_IMAGES=()

mounts_under() { awk -v p="$1/" 'index($5 "/", p) == 1 { print $5 }' /proc/self/mountinfo | sort -r; }
unmount_under() {
	local m
	for m in $(mounts_under "$1"); do umount -l "$m" 2>/dev/null; done
}

# drop_images: every image but the cached stand-ins, and all build cache, so
# the next run downloads modules and builds the Dockerfile afresh.
drop_images() {
	local keep=" " ref id
	for ref in "${KEEP_IMAGES[@]}"; do
		id=$(podman image inspect --format '{{.Id}}' "$ref" 2>/dev/null) && keep+="$id "
	done
	for id in $(podman images -a --no-trunc --format '{{.Id}}' | sed 's/^sha256://' | sort -u); do
		[[ $keep == *" $id "* ]] || podman rmi -f "$id" >/dev/null 2>&1 || true
	done
	podman image prune -f >/dev/null 2>&1 || true
}

cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	phase cleanup
	local pid
	# act and the API service first: nothing may start containers behind us.
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [[ -n $PODMAN_READY ]]; then
		podman ps -aq | xargs -r podman rm -f -t 0 >/dev/null 2>&1
		podman volume prune -f >/dev/null 2>&1
		drop_images
	fi
	# conmon and `podman container cleanup` outlive `podman run` briefly; ours name $RUNDIR.
	for pid in $(pgrep -f -- "$RUNDIR/" || true); do
		[[ $pid == "$$" ]] || kill "$pid" 2>/dev/null
	done
	unmount_under "$WORK"
	unmount_under "$RUNDIR"
	[[ -z $(mounts_under "$RUNDIR") ]] && rm -rf --one-file-system "$RUNDIR"
	[[ -n $STORE ]] && unmount_under "$STORE"
	if [[ -z ${EXISTED[/run/netns]:-} && -e /run/netns ]]; then
		umount /run/netns 2>/dev/null
		rmdir /run/netns 2>/dev/null
	fi
	[[ -z ${EXISTED[/run/runc]:-} ]] && rmdir /run/runc 2>/dev/null
	[[ -z ${EXISTED[/run/mount]:-} ]] && rm -rf /run/mount
	# podman keeps a blob-info cache there whatever its storage configuration says.
	[[ -z ${EXISTED[/var/lib/containers]:-} ]] && rm -rf /var/lib/containers
	# runc leaves the (empty) parent cgroup that cgroupfs made in each hierarchy.
	if [[ -z ${EXISTED[/sys/fs/cgroup/memory/libpod_parent]:-} ]]; then
		find /sys/fs/cgroup/*/libpod_parent -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	local left
	left=$(
		mounts_under "$WORK"
		mounts_under "$RUNDIR"
		[[ -z $STORE ]] || mounts_under "$STORE"
	)
	if [[ -n $left ]]; then
		say "mounts left behind; not removing $WORK:"
		printf '%s\n' "$left" >&2
		rc=1
	elif [[ -z ${IMAGE_TEST_KEEP:-} ]]; then
		rm -rf --one-file-system "$WORK"
	else
		say "kept $WORK"
	fi
	local after
	after=$(ls /sys/class/net)
	if [[ $after != "$NETIFS_BEFORE" ]]; then
		say "network interfaces changed during the run: before: $(echo $NETIFS_BEFORE), after: $(echo $after)"
		rc=1
	fi
	phase done
	printf '%s\n' "${TIMINGS[@]}" "$(printf '%-22s %7.1f s' total "$((($(now_ms) - T_START) / 100))e-1")" >&2
	# Checks: the image build and inspection, each runner case, the act run.
	if [[ $rc -eq 0 ]]; then
		echo "PASS: test/image/run.sh ($MODE build)"
		echo "image: $((CHECKS + 1)) passed, 0 failed"
	else
		echo "FAIL: test/image/run.sh exited $rc" >&2
		echo "image: $CHECKS passed, 1 failed"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One run at a time: runs share the cached stand-in image store.
exec 9>"$CACHE/lock"
flock -w 900 9 || die "another test/image/run.sh holds $CACHE/lock"

# --- 1. rootful podman, privately configured ----------------------------------
phase install
PKGS=(podman runc conmon catatonit busybox-static bash-static)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	command -v apt-get >/dev/null || skip "no apt-get to install ${missing[*]}"
	say "installing ${missing[*]} from Debian"
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PKGS[@]}"; } >"$WORK/apt.log" 2>&1; then
		tail -20 "$WORK/apt.log" >&2
		skip "podman could not be installed from Debian (see above)"
	fi
fi
command -v podman >/dev/null || skip "podman is not on PATH after installing it"
say "$(podman --version), $(runc --version | head -1)"

phase configure
mkdir -p "$WORK"/{tmp,empty-cni,empty-netconf,empty-helpers,empty-context,bin}
# Run state, locks and volumes are new each run (as after a reboot) but at a
# fixed path, because podman's database records these paths and later runs
# would otherwise use the first run's. A killed run's state is dropped here.
unmount_under "$RUNDIR"
rm -rf --one-file-system "$RUNDIR"
mkdir -p "$RUNDIR"
# Host namespaces and host networking only. network_config_dir and
# cni_plugin_dirs are empty and helper_binaries_dir hides netavark, so a
# container that asked for any other network fails ("failed to find plugin
# bridge") instead of creating a bridge on a private range. default_ulimits:
# this machine drops CAP_SYS_RESOURCE, and podman's defaults (nofile 1048576,
# nproc above pid_max) exceed what runc may set. Locks are files, not
# /dev/shm/libpod_lock. Only the image store (with podman's database, which
# must live beside it: with static_dir elsewhere every `podman run` waits 20 s
# for conmon) outlives the run, as a cache of the stand-in images, whose import
# takes ~20 s.
NOFILE=$(ulimit -Hn)
NPROC=$(ulimit -Hu)
PIDMAX=$(cat /proc/sys/kernel/pid_max)
[[ $NPROC == unlimited || $NPROC -gt $PIDMAX ]] && NPROC=$PIDMAX
write_conf() {
	STORE=$CACHE/storage-$1
	mkdir -p "$STORE"
	cat >"$WORK/containers.conf" <<EOF
[containers]
cgroupns = "host"
ipcns = "host"
netns = "host"
pidns = "host"
utsns = "host"
userns = "host"
cgroups = "enabled"
default_sysctls = []
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=$NPROC:$NPROC"]
log_driver = "k8s-file"
init_path = "/usr/bin/catatonit"

[network]
network_backend = "cni"
cni_plugin_dirs = ["$WORK/empty-cni"]
network_config_dir = "$WORK/empty-netconf"
default_network = "no-network-but-host"

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
lock_type = "file"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
tmp_dir = "$RUNDIR/libpod"
volume_path = "$RUNDIR/volumes"
helper_binaries_dir = ["$WORK/empty-helpers"]
exit_command_delay = 1
image_default_transport = "containers-storage:"
EOF
	cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "$1"
graphroot = "$STORE"
runroot = "$RUNDIR/storage"
EOF
	# No registry is reachable, and none may be tried: a pull fails at once.
	{
		printf 'unqualified-search-registries = []\nshort-name-mode = "enforcing"\n'
		local r
		for r in docker.io registry-1.docker.io gcr.io ghcr.io quay.io registry.k8s.io mcr.microsoft.com public.ecr.aws registry.fedoraproject.org; do
			printf '[[registry]]\nlocation = "%s"\nblocked = true\n' "$r"
		done
	} >"$WORK/registries.conf"
}
export CONTAINERS_CONF=$WORK/containers.conf
export CONTAINERS_STORAGE_CONF=$WORK/storage.conf
export CONTAINERS_REGISTRIES_CONF=$WORK/registries.conf
export TMPDIR=$WORK/tmp

wipe_store() {
	say "wiping the cached image store $STORE: $1"
	unmount_under "$STORE"
	rm -rf --one-file-system "$STORE"
	mkdir -p "$STORE"
}
# use_driver DRIVER: configure it and check that podman starts on the store.
use_driver() {
	write_conf "$1"
	local try
	for try in 1 2; do
		if podman info >"$WORK/podman-info.txt" 2>&1 &&
			[[ $(podman info --format '{{.Store.GraphDriverName}} {{.Store.RunRoot}}') == "$1 $RUNDIR/storage" ]]; then
			# A killed run can leave containers behind, even ones podman no longer knows.
			podman ps -aq | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
			[[ -z $(podman ps -a --external -q 2>/dev/null) ]] && return 0
			wipe_store "it holds containers of an interrupted run"
		else
			[[ $try == 2 ]] && return 1
			wipe_store "podman does not start on it as configured: $(tail -1 "$WORK/podman-info.txt")"
		fi
	done
	return 1
}
DRIVER=overlay
if ! use_driver overlay; then
	say "overlay storage is unusable here; falling back to vfs: $(tail -1 "$WORK/podman-info.txt")"
	unmount_under "$STORE"
	DRIVER=vfs
	use_driver vfs || {
		cat "$WORK/podman-info.txt" >&2
		die "podman does not start with the private configuration in $CONTAINERS_CONF"
	}
fi
PODMAN_READY=1
[[ $(podman info --format '{{.Host.NetworkBackend}}') == cni ]] || die "podman does not use the CNI backend configured in $CONTAINERS_CONF"
say "storage $DRIVER in $STORE, runtime $(podman info --format '{{.Host.OCIRuntime.Name}}'), cgroups $(podman info --format '{{.Host.CgroupManager}}'), network host only"

# The test's own helper: runner-side input and file-command handling, fake OIDC.
go build -o "$WORK/bin/ghrunner" ./test/image/ghrunner
GHR=$WORK/bin/ghrunner

# --- 2. stand-in base images ----------------------------------------------------
phase base-images
# Each FROM line as "image [stage-name]", flags such as --platform dropped.
mapfile -t FROMS < <(awk 'toupper($1) == "FROM" {
	img = ""; alias = ""
	for (i = 2; i <= NF; i++) {
		if ($i ~ /^--/) continue
		if (img == "") img = $i
		else if (toupper($i) == "AS" && i < NF) alias = $(i + 1)
	}
	print img, alias
}' Dockerfile)
((${#FROMS[@]})) || die "no FROM line in Dockerfile"
GOROOT_HOST=$(go env GOROOT)
GOVERSION_HOST=$(go env GOVERSION)
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
[[ -s $CA_BUNDLE ]] || die "no CA bundle at $CA_BUNDLE"
# Image tags carry what went into a stand-in, so a change re-imports it.
key() { tr -c 'A-Za-z0-9.\n-' _ <<<"$1" | tr '[:upper:]' '[:lower:]'; }
CA_KEY=$(sha256sum "$CA_BUNDLE" | cut -c1-12)
BB_KEY=$(key "$(dpkg-query -W -f='${Version}' busybox-static)")
STANDIN=localhost/aws-assume-deploy-standin

# A test CA in the final image's bundle stands for the public CAs of the real
# one: the tls case reaches moto over HTTPS with a certificate it signed, which
# works only if the image keeps a CA bundle where Go looks for one.
TLS=$CACHE/tls
if ! openssl x509 -checkend 2592000 -noout -in "$TLS/server.pem" >/dev/null 2>&1; then
	rm -rf "$TLS"
	mkdir -p "$TLS"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=aws-assume-deploy image-test CA' \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$TLS/server.ext"
	openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial -days 825 \
		-extfile "$TLS/server.ext" -out "$TLS/server.pem" 2>/dev/null
fi
TLS_KEY=$(sha256sum "$TLS/ca.pem" | cut -c1-12)

# rootfs_common DIR: what every stand-in has: the CA bundle, /tmp, /root.
rootfs_common() {
	mkdir -p "$1"/{etc/ssl/certs,tmp,root}
	chmod 1777 "$1/tmp"
	chmod 700 "$1/root"
	cp "$CA_BUNDLE" "$1/etc/ssl/certs/ca-certificates.crt"
	printf 'hosts: files dns\n' >"$1/etc/nsswitch.conf"
}
# rootfs_busybox DIR: a /bin/sh and the usual applets from Debian's busybox-static.
rootfs_busybox() {
	mkdir -p "$1/bin" "$1/usr/bin"
	cp /bin/busybox "$1/bin/busybox"
	local a
	for a in $(/bin/busybox --list); do
		[[ -e $1/bin/$a ]] || ln -s busybox "$1/bin/$a"
	done
	ln -s /bin/env "$1/usr/bin/env"
}
# import_tar TAR REF [podman import flags]: TAR as a one-layer image REF.
import_tar() {
	local tar=$1 ref=$2
	shift 2
	podman import -q "$@" "$tar" "$ref" >/dev/null
	rm -f "$tar"
	say "imported $ref"
}
# have REF: REF is in the store (from an earlier run); older tags of its
# repository are dropped.
have() {
	local old
	for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "${1%:*}" 2>/dev/null); do
		[[ $old == "$1" ]] || podman rmi "$old" >/dev/null 2>&1 || true
	done
	podman image exists "$1"
}

# golang:*: busybox /bin/sh, the host Go toolchain at /usr/local/go (less its
# tests) and the host CA bundle: the Go proxy is reached through a TLS-
# intercepting proxy whose CA is only in that bundle. Config as in the
# official image; the module settings follow in a per-mode image on top.
golang_standin() {
	local ref
	ref=$STANDIN/golang:$(key "$GOVERSION_HOST-bb$BB_KEY-ca$CA_KEY-r$STANDIN_REV")
	if ! have "$ref"; then
		local d=$WORK/rootfs-golang g=${GOROOT_HOST#/}
		rootfs_common "$d"
		rootfs_busybox "$d"
		mkdir -p "$d"/go/{bin,src}
		printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$d/etc/passwd"
		printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
		tar -cf "$d.tar" --numeric-owner --owner=0 --group=0 -C "$d" . \
			-C / --exclude="$g/test" --exclude="$g/doc" --exclude="$g/api" \
			--exclude='testdata' --exclude='*_test.go' \
			--transform="s,^$g,usr/local/go," "$g"
		rm -rf "$d"
		import_tar "$d.tar" "$ref" \
			--change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change "ENV GOLANG_VERSION=${GOVERSION_HOST#go}" \
			--change 'ENV GOTOOLCHAIN=local' --change 'ENV GOPATH=/go' \
			--change 'WORKDIR /go' --change 'CMD ["/bin/sh"]'
	fi
	STANDIN_REF=$ref
}

# gcr.io/distroless/static*: passwd/group with root, nonroot and nobody, the CA
# bundle, tzdata and distroless's image config (root, SSL_CERT_FILE).
distroless_standin() {
	local ref tz
	tz=$(dpkg-query -W -f='${Version}' tzdata 2>/dev/null || echo none)
	ref=$STANDIN/distroless-static:$(key "ca$CA_KEY-test$TLS_KEY-tz$tz-r$STANDIN_REV")
	if ! have "$ref"; then
		local d=$WORK/rootfs-distroless
		rootfs_common "$d"
		cat "$TLS/ca.pem" >>"$d/etc/ssl/certs/ca-certificates.crt"
		mkdir -p "$d/home/nonroot" "$d/usr/share"
		chown 65532:65532 "$d/home/nonroot"
		chmod 700 "$d/home/nonroot"
		printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$d/etc/passwd"
		printf 'root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n' >"$d/etc/group"
		printf 'PRETTY_NAME="Distroless stand-in (test/image/run.sh)"\nID=debian\nVERSION_ID="12"\n' >"$d/etc/os-release"
		if [[ -d /usr/share/zoneinfo ]]; then
			cp -a /usr/share/zoneinfo "$d/usr/share/zoneinfo"
			rm -rf "$d/usr/share/zoneinfo/right" "$d/usr/share/zoneinfo/posix"
		fi
		tar -cf "$d.tar" --numeric-owner -C "$d" .
		rm -rf "$d"
		import_tar "$d.tar" "$ref" \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
			--change 'USER 0' --change 'WORKDIR /'
	fi
	STANDIN_REF=$ref
}

# import_standin NAME: the stand-in, tagged as the Dockerfile's FROM NAME.
import_standin() {
	local name=$1 ref=$1
	[[ $ref == */* ]] || ref=docker.io/library/$ref
	[[ $ref == *:* ]] || ref=$ref:latest
	case $name in
	golang:*)
		local tag=${name#golang:} mm
		mm=$(cut -d. -f1,2 <<<"${GOVERSION_HOST#go}")
		[[ $tag == "$mm" || $tag == "$mm"[.-]* ]] ||
			die "Dockerfile builds with $name but the host has $GOVERSION_HOST: the stand-in would not be representative (install Go ${tag%%-*} here, or update the Dockerfile)"
		golang_standin
		KEEP_IMAGES+=("$STANDIN_REF")
		# Module settings as the mode wants them, on top (no layer, instant).
		{
			echo "FROM $STANDIN_REF"
			if [[ $MODE == offline ]]; then
				echo 'ENV GOPROXY=off'
			else
				local v
				for v in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GONOPROXY; do
					[[ -z $(go env "$v") ]] || echo "ENV $v=$(go env "$v")"
				done
			fi
		} >"$WORK/Containerfile.golang"
		podman build -q --pull=never --network host -t "$ref" -f "$WORK/Containerfile.golang" "$WORK/empty-context" >/dev/null
		;;
	gcr.io/distroless/static*)
		distroless_standin
		KEEP_IMAGES+=("$STANDIN_REF")
		podman tag "$STANDIN_REF" "$ref"
		;;
	*)
		die "no stand-in for base image $name; teach import_standin in test/image/run.sh to build one"
		;;
	esac
	say "stand-in $ref"
}
declare -A SEEN=()
for line in "${FROMS[@]}"; do
	read -r img alias <<<"$line"
	# FROM <an earlier stage>, FROM scratch or a second FROM of an image needs nothing new.
	if [[ -z ${SEEN[$img]:-} && $img != scratch ]]; then
		# A base image is pinned as name:tag@sha256:<digest> (the tag for readers and Dependabot).
		[[ $img =~ ^[^@[:space:]]+:[^@:/[:space:]]+@sha256:[0-9a-f]{64}$ ]] ||
			die "FROM $img: pin the base image by digest as name:tag@sha256:<digest> (see the Dockerfile's comments)"
		# The stand-in answers to name:tag; the build copy drops the digest (below).
		import_standin "${img%@*}"
	fi
	SEEN[$img]=1
	[[ -z $alias ]] || SEEN[$alias]=1
done

# --- 3. podman build of the real Dockerfile --------------------------------------
phase build
# The build context, and act's workspace later, is a snapshot of the work tree
# as a fresh clone with the uncommitted changes would have it (git's ignored
# files left out), in a repository of its own so act can read a commit and a
# remote from it without touching this one.
SRC=$WORK/src
mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$SRC"
else
	cp -a . "$SRC"
	rm -rf "$SRC/.git"
fi
# The stand-ins carry the base images' name:tag but not their registry
# digests, which podman would look up: the build copy's FROM lines (and act's,
# which builds the same snapshot) drop the @sha256: part that step 2 checked.
sed -i -E '/^[[:space:]]*[Ff][Rr][Oo][Mm][[:space:]]/ s/@sha256:[0-9a-f]{64}//' "$SRC/Dockerfile"
grep -qiE '^[[:space:]]*FROM[[:space:]].*@sha256:' "$SRC/Dockerfile" && die "could not drop the digests from the build copy's FROM lines"
git -C "$SRC" init -q -b main
git -C "$SRC" add -A
git -C "$SRC" -c user.name=image-test -c user.email=image-test@localhost commit -q --no-verify -m snapshot
git -C "$SRC" remote add origin https://github.com/aws-assume-deploy/aws-assume-deploy.git

GOMOD_DIRECTIVE=$(awk '$1 == "go" { print $2; exit }' go.mod)
# --format docker: what docker build makes on GitHub, and what podman's Docker
# API builds (act's) make, so that their layer cache is this build's.
BUILD_ARGS=(--pull=never --layers --force-rm --format docker)
if [[ $MODE == offline ]]; then
	# Fill the host cache through the host network, then build with none: the
	# build's containers get a network namespace of their own with only lo.
	go mod download
	BUILD_ARGS+=(--network none --volume "$(go env GOMODCACHE):/go/pkg/mod:ro")
else
	BUILD_ARGS+=(--network host)
fi
if [[ -z ${IMAGE_TEST_COLD:-} ]]; then
	# The build cache only speeds up compiling; nothing of it lands in the image.
	mkdir -p "$CACHE/go-build"
	BUILD_ARGS+=(--volume "$CACHE/go-build:/root/.cache/go-build")
fi
# As the runner does: `docker build -t <label>:<id> -f <action>/Dockerfile <action>`,
# with no build arguments (so internal/version.Version stays "dev" on GitHub).
if ! podman build "${BUILD_ARGS[@]}" --label "$LABEL=1" -t "$IMAGE" -f "$SRC/Dockerfile" "$SRC" >"$WORK/build.log" 2>&1; then
	tail -40 "$WORK/build.log" >&2
	if ! go build -o /dev/null . 2>"$WORK/host-build.txt"; then
		say "the main package does not build on the host either:"
		head -20 "$WORK/host-build.txt" >&2
	fi
	die "podman build of the Dockerfile failed ($MODE build; last 40 lines of its log above)"
fi
say "built $IMAGE (go.mod: go $GOMOD_DIRECTIVE, toolchain $GOVERSION_HOST, modules: $MODE)"

phase inspect
IMAGE_SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
IMAGE_USER=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
IMAGE_EP=$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
case $IMAGE_USER in "" | 0 | root | 0:0 | root:root) ;; *)
	die "the image runs as user '$IMAGE_USER': the runner's /github/file_commands belongs to the runner user, so only root can append to it"
	;;
esac
ctr=$(podman create --pull=never "$IMAGE")
podman export "$ctr" | tar -t >"$WORK/image-files.txt"
BIN=$(podman image inspect --format '{{index .Config.Entrypoint 0}}' "$IMAGE")
podman cp "$ctr:$BIN" "$WORK/bin/action"
podman rm "$ctr" >/dev/null
for f in etc/ssl/certs/ca-certificates.crt etc/passwd "${BIN#/}"; do
	grep -qx "\\(\\./\\)\\?$f" "$WORK/image-files.txt" || die "the image lacks /$f"
done
if command -v readelf >/dev/null && readelf -lW "$WORK/bin/action" | grep -q INTERP; then
	die "$BIN in the image is dynamically linked: it needs a loader the distroless static image does not have"
fi
BIN_SIZE=$(stat -c %s "$WORK/bin/action")
go version -m "$WORK/bin/action" >"$WORK/binary-buildinfo.txt"
grep -q -- '-trimpath=true' "$WORK/binary-buildinfo.txt" || say "note: the binary was not built with -trimpath"
grep -q 'CGO_ENABLED=0' "$WORK/binary-buildinfo.txt" || die "the binary was built with cgo"
say "image $IMAGE: $((IMAGE_SIZE / 1024)) KiB, entrypoint $IMAGE_EP, user '${IMAGE_USER:-root}'; binary $((BIN_SIZE / 1024)) KiB"

# --- 4. the image run as GitHub's runner runs a Docker action --------------------
phase services
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
python3 -c 'import moto.server' 2>/dev/null || die "python3 cannot import moto.server (moto with its server extras), which this machine image ships"
MOTO_PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"$WORK/moto.log" 2>&1 &
PIDS+=($!)
MOTO=http://127.0.0.1:$MOTO_PORT
MOTO_TLS_PORT=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$MOTO_TLS_PORT" -c "$TLS/server.pem" -k "$TLS/server.key" >"$WORK/moto-tls.log" 2>&1 &
PIDS+=($!)
MOTO_TLS=https://127.0.0.1:$MOTO_TLS_PORT
"$GHR" oidc "$WORK/oidc-requests.log" >"$WORK/oidc.env" &
PIDS+=($!)
for _ in $(seq 1 150); do
	[[ $(curl -s -o /dev/null -w '%{http_code}' "$MOTO/moto-api/" 2>/dev/null) != 000 && $(wc -l <"$WORK/oidc.env") -ge 2 ]] && break
	sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$MOTO/moto-api/") != 000 ]] || {
	cat "$WORK/moto.log" >&2
	die "moto did not start on $MOTO"
}
for _ in $(seq 1 100); do
	[[ $(curl -s --cacert "$TLS/ca.pem" -o /dev/null -w '%{http_code}' "$MOTO_TLS/moto-api/" 2>/dev/null) != 000 ]] && break
	sleep 0.1
done
[[ $(curl -s --cacert "$TLS/ca.pem" -o /dev/null -w '%{http_code}' "$MOTO_TLS/moto-api/") != 000 ]] || {
	cat "$WORK/moto-tls.log" >&2
	die "moto did not start on $MOTO_TLS"
}
OIDC_URL=$(sed -n 's/^ACTIONS_ID_TOKEN_REQUEST_URL=//p' "$WORK/oidc.env")
OIDC_TOKEN=$(sed -n 's/^ACTIONS_ID_TOKEN_REQUEST_TOKEN=//p' "$WORK/oidc.env")
[[ -n $OIDC_URL && -n $OIDC_TOKEN ]] || die "the fake OIDC endpoint did not start"
say "moto on $MOTO and $MOTO_TLS, GitHub OIDC stand-in on ${OIDC_URL%%/_oidc*}"

phase runner-contract
SHA=$(git rev-parse HEAD 2>/dev/null || printf '%040d' 0)
# What the runner passes to every container action besides inputs and file
# commands (ContainerActionHandler.cs: the job's github/runner contexts, path-
# translated: RUNNER_TEMP is not mounted, so it stays a host path). The last
# three guard the network, not the contract: instance metadata is never asked
# for, and any HTTP(S) call to a host other than loopback (which Go never
# proxies) goes to a closed port on 127.0.0.1 and fails.
RUNNER_ENV=(
	-e GITHUB_ACTIONS=true -e CI=true
	-e GITHUB_ACTION=aws -e GITHUB_ACTION_REPOSITORY= -e GITHUB_ACTION_REF=
	-e GITHUB_ACTOR=octocat -e GITHUB_TRIGGERING_ACTOR=octocat
	-e GITHUB_REPOSITORY=aws-assume-deploy/aws-assume-deploy -e GITHUB_REPOSITORY_OWNER=aws-assume-deploy
	-e GITHUB_RUN_ID=4242 -e GITHUB_RUN_NUMBER=7 -e GITHUB_RUN_ATTEMPT=1
	-e GITHUB_WORKFLOW=image-test -e GITHUB_JOB=deploy -e GITHUB_EVENT_NAME=push
	-e GITHUB_SHA="$SHA" -e GITHUB_REF=refs/heads/main -e GITHUB_REF_NAME=main -e GITHUB_REF_TYPE=branch
	-e GITHUB_SERVER_URL=https://github.com -e GITHUB_API_URL=https://api.github.com
	-e GITHUB_GRAPHQL_URL=https://api.github.com/graphql
	-e RUNNER_OS=Linux -e RUNNER_ARCH=X64 -e "RUNNER_NAME=GitHub Actions 1" -e RUNNER_ENVIRONMENT=github-hosted
	-e RUNNER_TEMP=/home/runner/work/_temp -e RUNNER_TOOL_CACHE=/opt/hostedtoolcache
	-e RUNNER_WORKSPACE=/home/runner/work/aws-assume-deploy
	-e ACTIONS_RUNTIME_URL=http://127.0.0.1:9/ -e "ACTIONS_RUNTIME_TOKEN=runtime-$RANDOM$RANDOM"
	-e ACTIONS_CACHE_URL=http://127.0.0.1:9/
	-e AWS_EC2_METADATA_DISABLED=true
	-e HTTPS_PROXY=http://127.0.0.1:9 -e HTTP_PROXY=http://127.0.0.1:9
)
FILE_COMMANDS=(add_path set_env set_output save_state step_summary)

CASE= CASE_DIR= CASE_ID=
fail_case() {
	say "--- log of case $CASE:"
	sed 's/^/    /' "$CASE_DIR/log" >&2
	die "$CASE: $*"
}
# run_action CASE WANT [VAR=value | --podman-flag=value ...] -- [input=value ...]
# WANT is the exit status (0) or "fail" (any non-zero status).
run_action() {
	CASE=$1
	CHECKS=$((CHECKS + 1))
	local want=$2
	shift 2
	local env=() in=() i f
	while (($#)) && [[ $1 != -- ]]; do
		if [[ $1 == --* ]]; then env+=("$1"); else env+=(-e "$1"); fi
		shift
	done
	(($#)) && shift
	CASE_ID=$(cat /proc/sys/kernel/random/uuid)
	# CASE_DIR stands for the runner's _temp (/home/runner/work/_temp) plus the workspace.
	CASE_DIR=$WORK/runner/$CASE
	local fc=$CASE_DIR/_runner_file_commands ws=$CASE_DIR/workspace
	mkdir -p "$CASE_DIR"/{_github_home,_github_workflow} "$fc" "$ws"
	cp test/image/testdata/stack.yaml "$ws/"
	cp "$TLS/ca.pem" "$ws/test-ca.pem"
	printf '{"ref":"refs/heads/main","repository":{"full_name":"aws-assume-deploy/aws-assume-deploy"}}\n' >"$CASE_DIR/_github_workflow/event.json"
	# The runner creates each file command empty before the step; all of it
	# belongs to the runner user (uid 1001, group docker), not to root.
	for f in "${FILE_COMMANDS[@]}"; do : >"$fc/${f}_$CASE_ID"; done
	chown -R 1001:118 "$CASE_DIR"
	"$GHR" inputs action.yml "$@" >"$CASE_DIR/inputs" || die "$CASE: bad inputs"
	while IFS= read -r -d '' i; do in+=(-e "$i"); done <"$CASE_DIR/inputs"
	local args=(
		--rm --pull=never --name "$LABEL-$CASE" --label "$LABEL=1" --network host --workdir /github/workspace
		-v "$CASE_DIR/_github_home:/github/home" -v "$CASE_DIR/_github_workflow:/github/workflow"
		-v "$fc:/github/file_commands" -v "$ws:/github/workspace"
		-e HOME=/github/home -e GITHUB_WORKSPACE=/github/workspace -e GITHUB_EVENT_PATH=/github/workflow/event.json
		-e "GITHUB_ENV=/github/file_commands/set_env_$CASE_ID" -e "GITHUB_OUTPUT=/github/file_commands/set_output_$CASE_ID"
		-e "GITHUB_STATE=/github/file_commands/save_state_$CASE_ID" -e "GITHUB_PATH=/github/file_commands/add_path_$CASE_ID"
		-e "GITHUB_STEP_SUMMARY=/github/file_commands/step_summary_$CASE_ID"
		"${RUNNER_ENV[@]}" "${in[@]}" "${env[@]}"
	)
	local rc=0 t0
	t0=$(now_ms)
	podman run "${args[@]}" "$IMAGE" >"$CASE_DIR/log" 2>&1 || rc=$?
	LAST_MS=$(($(now_ms) - t0))
	say "case $CASE: exit $rc in $LAST_MS ms"
	if [[ $want == fail ]]; then
		[[ $rc -ne 0 ]] || fail_case "exited 0, want a failure"
	elif [[ $rc -ne $want ]]; then
		fail_case "exited $rc, want $want"
	fi
	# The action appends to the files the runner made; it creates none of its own.
	[[ $(ls "$fc" | wc -l) -eq ${#FILE_COMMANDS[@]} ]] || fail_case "file commands dir holds $(ls "$fc")"
	for f in "${FILE_COMMANDS[@]}"; do
		[[ $(stat -c %u "$fc/${f}_$CASE_ID") == 1001 ]] || fail_case "${f}_$CASE_ID was replaced, not appended to (owner $(stat -c %U "$fc/${f}_$CASE_ID"))"
	done
	[[ ! -s $fc/add_path_$CASE_ID ]] || fail_case "the action added to PATH"
}
# fc_val KIND NAME: REPLY = what the runner would set for NAME from the
# KIND (set_env, set_output) file command of the last case.
fc_val() {
	REPLY=$("$GHR" get "$CASE_DIR/_runner_file_commands/${1}_$CASE_ID" "$2") ||
		fail_case "${1}_$CASE_ID does not set $2, or does not parse as the runner parses it"
}
fc_keys() {
	REPLY=$("$GHR" keys "$CASE_DIR/_runner_file_commands/${1}_$CASE_ID") || fail_case "${1}_$CASE_ID does not parse"
	REPLY=$(sort -u <<<"$REPLY" | tr '\n' ' ')
}
want_eq() {
	fc_val "$1" "$2"
	[[ $REPLY == "$3" ]] || fail_case "$2 = '$REPLY', want '$3'"
}
want_prefix() {
	fc_val "$1" "$2"
	[[ $REPLY == "$3"* ]] || fail_case "$2 = '$REPLY', want a value starting with '$3'"
}
# want_masked WHAT VALUE: every log line holding VALUE is its own ::add-mask::.
want_masked() {
	[[ -n $2 ]] || return 0
	if grep -F -- "$2" "$CASE_DIR/log" | grep -qvxF -- "::add-mask::$2"; then
		fail_case "$1 is printed in the clear (not only in ::add-mask::)"
	fi
}
# check_credentials REGION: the exported credentials, their masks, the outputs.
check_credentials() {
	local key secret token
	want_prefix set_env AWS_ACCESS_KEY_ID ASIA
	key=$REPLY
	fc_val set_env AWS_SECRET_ACCESS_KEY
	secret=$REPLY
	fc_val set_env AWS_SESSION_TOKEN
	token=$REPLY
	[[ -n $secret && -n $token ]] || fail_case "empty secret key or session token in GITHUB_ENV"
	want_eq set_env AWS_REGION "$1"
	want_eq set_env AWS_DEFAULT_REGION "$1"
	grep -qxF -- "::add-mask::$secret" "$CASE_DIR/log" || fail_case "the secret access key is never masked"
	grep -qxF -- "::add-mask::$token" "$CASE_DIR/log" || fail_case "the session token is never masked"
	want_masked "the secret access key" "$secret"
	want_masked "the session token" "$token"
	want_masked "the access key id" "$key"
	want_eq set_output aws-account-id "$ACCOUNT"
	want_prefix set_output authenticated-arn "arn:aws:sts::$ACCOUNT:assumed-role/deploy/"
	local env
	fc_keys set_env
	env=$REPLY
	fc_keys set_output
	say "case $CASE: GITHUB_ENV sets ${env}; outputs $REPLY"
}

SRC_KEY_ID=AKIAIMAGETEST$((RANDOM % 9000 + 1000))
SRC_SECRET=source-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEYS_INPUTS=(aws-region=eu-west-1 "role-to-assume=$ROLE_ARN" "aws-access-key-id=$SRC_KEY_ID" "aws-secret-access-key=$SRC_SECRET")

run_action stored-keys 0 "AWS_ENDPOINT_URL=$MOTO" -- "${KEYS_INPUTS[@]}"
check_credentials eu-west-1
want_masked "the source secret access key" "$SRC_SECRET"
grep -qF -- "$SRC_SECRET" "$CASE_DIR/_runner_file_commands/set_env_$CASE_ID" && fail_case "the source secret key is exported"

: >"$WORK/oidc-requests.log"
run_action oidc 0 "AWS_ENDPOINT_URL=$MOTO" "ACTIONS_ID_TOKEN_REQUEST_URL=$OIDC_URL" "ACTIONS_ID_TOKEN_REQUEST_TOKEN=$OIDC_TOKEN" -- \
	aws-region=ap-northeast-1 "role-to-assume=$ROLE_ARN"
check_credentials ap-northeast-1
grep -q '"audience":"sts.amazonaws.com","api_version":"2.0","bearer_ok":true,"status":200' "$WORK/oidc-requests.log" ||
	fail_case "no good ID-token request (audience sts.amazonaws.com, the runner's bearer token) in: $(cat "$WORK/oidc-requests.log")"
want_masked "the ID-token request token" "$OIDC_TOKEN"

# Over HTTPS, trusting only the image's own CA bundle.
run_action tls 0 "AWS_ENDPOINT_URL=$MOTO_TLS" -- "${KEYS_INPUTS[@]}"
check_credentials eu-west-1
# The control: with the bundle hidden the same call must fail verification
# (one attempt: the action retries certificate errors, which cannot heal).
NO_BUNDLE=--volume=/dev/null:/etc/ssl/certs/ca-certificates.crt:ro
run_action tls-without-bundle fail "AWS_ENDPOINT_URL=$MOTO_TLS" "$NO_BUNDLE" -- "${KEYS_INPUTS[@]}" retry-max-attempts=1
grep -q '^::error.*certificate' "$CASE_DIR/log" || fail_case "want a certificate error"
say "case $CASE: $(grep '^::error' "$CASE_DIR/log" | grep -o 'x509: .*' | cut -c1-120)"
# A self-hosted runner behind a TLS-intercepting proxy: its CA comes from the
# job as AWS_CA_BUNDLE, a path the container can see (the workspace).
run_action tls-aws-ca-bundle 0 "AWS_ENDPOINT_URL=$MOTO_TLS" "$NO_BUNDLE" AWS_CA_BUNDLE=/github/workspace/test-ca.pem -- "${KEYS_INPUTS[@]}"
check_credentials eu-west-1

# What a user waits for: the whole step as the runner runs a Docker action
# (podman run of the built image: container start, the action, exit) beside
# configure-aws-credentials as the runner runs a JavaScript action (node on
# its bundle), stored keys against the same moto, alternating, 5 rounds.
# Printed, not judged: this machine is shared and podman is not Docker.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
CAC_DIR=$ROOT/../shared/peers/configure-aws-credentials
STEP_MS=() CAC_MS=()
for round in 1 2 3 4 5; do
	run_action "step-timing-$round" 0 "AWS_ENDPOINT_URL=$MOTO" -- "${KEYS_INPUTS[@]}"
	STEP_MS+=("$LAST_MS")
	if [[ -f $CAC_DIR/dist/index.js ]] && command -v node >/dev/null; then
		pdir=$WORK/cac-timing-$round
		mkdir -p "$pdir/home"
		: >"$pdir/env"
		: >"$pdir/output"
		"$GHR" inputs "$CAC_DIR/action.yml" aws-region=eu-west-1 "role-to-assume=$ROLE_ARN" \
			"aws-access-key-id=$SRC_KEY_ID" "aws-secret-access-key=$SRC_SECRET" "sts-endpoint=$MOTO" >"$pdir/inputs"
		pin=()
		while IFS= read -r -d '' i; do pin+=("$i"); done <"$pdir/inputs"
		t0=$(now_ms)
		# timeout: a peer that keeps retrying must not hold the image test.
		timeout 60 env -i PATH=/usr/bin:/bin HOME="$pdir/home" AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null \
			AWS_SHARED_CREDENTIALS_FILE=/dev/null GITHUB_ENV="$pdir/env" GITHUB_OUTPUT="$pdir/output" GITHUB_ACTIONS=true \
			GITHUB_WORKSPACE="$pdir" GITHUB_REPOSITORY=aws-assume-deploy/aws-assume-deploy GITHUB_WORKFLOW=image GITHUB_ACTION=cac \
			GITHUB_ACTOR=octocat GITHUB_SHA=0000000000000000000000000000000000000000 GITHUB_REF=refs/heads/main GITHUB_RUN_ID=1 \
			GITHUB_RUN_ATTEMPT=1 GITHUB_JOB=image GITHUB_EVENT_NAME=push \
			"${pin[@]}" node "$CAC_DIR/dist/index.js" >"$pdir/log" 2>&1 || say "configure-aws-credentials round $round failed: $(tail -n 2 "$pdir/log")"
		CAC_MS+=("$(($(now_ms) - t0))")
		grep -q AWS_SECRET_ACCESS_KEY "$pdir/env" || say "configure-aws-credentials round $round wrote no credentials"
	fi
done
say "whole step, stored keys on moto, median of 5: this image under podman $(median "${STEP_MS[@]}") ms (${STEP_MS[*]})"
if ((${#CAC_MS[@]})); then
	say "whole step, stored keys on moto, median of 5: configure-aws-credentials under node $(median "${CAC_MS[@]}") ms (${CAC_MS[*]})"
else
	say "whole step: configure-aws-credentials not measured (no $CAC_DIR or node)"
fi

# No source of credentials: one error annotation, nothing exported.
run_action no-credentials fail "AWS_ENDPOINT_URL=$MOTO" -- aws-region=eu-west-1 "role-to-assume=$ROLE_ARN"
[[ $(grep -c '^::error' "$CASE_DIR/log") -eq 1 ]] || fail_case "want exactly one ::error annotation"
[[ ! -s $CASE_DIR/_runner_file_commands/set_env_$CASE_ID ]] || fail_case "GITHUB_ENV written by a failed run"
say "case $CASE: $(grep '^::error' "$CASE_DIR/log" | cut -c1-160)"

# Deploy, once the binary has it (internal/cfn wired into main).
DEPLOY=
if grep -q '^  stack-name:' action.yml && go list -deps . 2>/dev/null | grep -c '/internal/cfn$' >/dev/null; then
	DEPLOY=1
	STACK=aws-assume-deploy-image-test
	# With parameters and an unchanged template, moto's CreateChangeSet answers
	# "No updates are to be performed." (a ValidationError) where CloudFormation
	# creates a FAILED change set "didn't contain changes"; the action treats
	# both as an empty deploy, and the second run below checks it.
	DEPLOY_INPUTS=("${KEYS_INPUTS[@]}" "stack-name=$STACK" template=stack.yaml
		"cloudformation-role-arn=arn:aws:iam::$ACCOUNT:role/cfn-exec" "parameter-overrides=QueueSuffix=image-test")
	run_action deploy 0 "AWS_ENDPOINT_URL=$MOTO" -- "${DEPLOY_INPUTS[@]}"
	check_credentials eu-west-1
	want_prefix set_output stack-id "arn:aws:cloudformation:eu-west-1:$ACCOUNT:stack/$STACK/"
	want_eq set_output stack-status CREATE_COMPLETE
	want_eq set_output has-changes true
	# The same template again: an empty change set is no failure by default.
	run_action deploy-again 0 "AWS_ENDPOINT_URL=$MOTO" -- "${DEPLOY_INPUTS[@]}"
	want_eq set_output has-changes false
	# moto, asked directly, has the stack.
	curl -fsS "$MOTO/" -d "Action=DescribeStacks&Version=2010-05-15&StackName=$STACK" \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIAIMAGETEST/20260101/eu-west-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0' |
		grep -q '<StackStatus>CREATE_COMPLETE</StackStatus>' || die "moto does not report $STACK as CREATE_COMPLETE"
else
	say "SKIP deploy cases: the action binary does not deploy yet (no internal/cfn in main's imports)"
fi

# --- 5. example workflows run by nektos/act through podman's Docker API ---------
# act is a different runner from GitHub's, and the action must not care:
#   GitHub: the action runs in its own container with --workdir /github/workspace,
#     the workspace, HOME and file commands mounted under /github/, and
#     GITHUB_ENV=/github/file_commands/set_env_<uuid> (likewise GITHUB_OUTPUT,
#     GITHUB_STATE, GITHUB_PATH, GITHUB_STEP_SUMMARY); RUNNER_TEMP is a host path
#     that is not mounted; the job network is a bridge per job.
#   act: the action runs with the job container's network (container:<job>), in
#     the job's own workspace path (here the bound snapshot, not /github/workspace),
#     with the file commands on a volume at /var/run/act/workflow (envs.txt,
#     outputcmd.txt, statecmd.txt, pathcmd.txt, SUMMARY.md) and RUNNER_TEMP=/tmp.
#   Neither gives an OIDC token service here: the workflow passes the stand-in's
#   URL and token as the variables GitHub's runner sets for id-token: write.
# So the action must take every path from its variables, and does if both pass.
if [[ ${IMAGE_TEST_ACT:-1} == 0 ]]; then
	say "SKIP act phase: IMAGE_TEST_ACT=0"
else
	phase act-install
	ACT=$CACHE/act/$ACT_VERSION/act
	if [[ ! -x $ACT ]]; then
		say "go install github.com/nektos/act@$ACT_VERSION (once; cached in $CACHE/act)"
		GOBIN=$CACHE/act/$ACT_VERSION go install "github.com/nektos/act@$ACT_VERSION" >"$WORK/act-install.log" 2>&1 || {
			tail -20 "$WORK/act-install.log" >&2
			die "installing act $ACT_VERSION failed"
		}
	fi

	phase act-job-image
	# The job image: Debian's busybox-static and bash-static, which is all that
	# act's job container needs for `run:` steps (tail -f /dev/null, bash).
	BASH_KEY=$(key "$(dpkg-query -W -f='${Version}' bash-static)")
	JOB_STANDIN=$STANDIN/job:$(key "bb$BB_KEY-bash$BASH_KEY-ca$CA_KEY-r$STANDIN_REV")
	if ! have "$JOB_STANDIN"; then
		d=$WORK/rootfs-job
		rootfs_common "$d"
		rootfs_busybox "$d"
		rm -f "$d/bin/bash"
		cp /bin/bash-static "$d/bin/bash"
		ln -s /bin/bash "$d/usr/bin/bash"
		mkdir -p "$d/home/runner"
		chown 1001:1001 "$d/home/runner"
		printf 'root:x:0:0:root:/root:/bin/bash\nrunner:x:1001:1001:runner:/home/runner:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$d/etc/passwd"
		printf 'root:x:0:\nrunner:x:1001:\ndocker:x:118:runner\nnogroup:x:65534:\n' >"$d/etc/group"
		tar -cf "$d.tar" --numeric-owner -C "$d" .
		rm -rf "$d"
		import_tar "$d.tar" "$JOB_STANDIN" \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["/bin/bash"]'
	fi
	KEEP_IMAGES+=("$JOB_STANDIN")
	podman tag "$JOB_STANDIN" "$JOB_IMAGE"

	phase act
	CHECKS=$((CHECKS + 1))
	SOCK=$RUNDIR/podman.sock
	podman system service --time=0 "unix://$SOCK" >"$WORK/podman-service.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 1 100); do
		[[ $(curl -s --unix-socket "$SOCK" http://d/_ping 2>/dev/null) == OK ]] && break
		sleep 0.1
	done
	[[ $(curl -s --unix-socket "$SOCK" http://d/_ping) == OK ]] || {
		cat "$WORK/podman-service.log" >&2
		die "podman system service did not answer on $SOCK"
	}
	DEPLOY_VAR=false
	[[ -n $DEPLOY ]] && DEPLOY_VAR=true
	mkdir -p "$WORK/act/home" "$WORK/act/cache" "$WORK/act/cache-server"
	ACT_ARGS=(
		push -W test/image/workflows/ --no-recurse
		-P "ubuntu-latest=$JOB_IMAGE" --pull=false --container-daemon-socket -
		--network host --bind --defaultbranch main
		--cache-server-addr 127.0.0.1 --cache-server-path "$WORK/act/cache-server"
		--artifact-server-addr 127.0.0.1
		# As in the runner-contract cases: the job's own settings, and the network guards.
		--env "AWS_ENDPOINT_URL=$MOTO" --env AWS_EC2_METADATA_DISABLED=true
		--env HTTPS_PROXY=http://127.0.0.1:9 --env HTTP_PROXY=http://127.0.0.1:9
		--var "OIDC_REQUEST_URL=$OIDC_URL" --secret "OIDC_REQUEST_TOKEN=$OIDC_TOKEN"
		--secret "SOURCE_ACCESS_KEY_ID=$SRC_KEY_ID" --secret "SOURCE_SECRET_ACCESS_KEY=$SRC_SECRET"
		--var "IMAGE_TEST_DEPLOY=$DEPLOY_VAR"
	)
	: >"$WORK/oidc-requests.log"
	act_rc=0
	(
		cd "$SRC"
		exec env HOME="$WORK/act/home" XDG_CONFIG_HOME="$WORK/act/home/.config" XDG_CACHE_HOME="$WORK/act/cache" \
			DOCKER_HOST="unix://$SOCK" timeout 600 "$ACT" "${ACT_ARGS[@]}"
	) >"$WORK/act.log" 2>&1 </dev/null &
	PIDS+=($!)
	wait $! || act_rc=$?
	fail_act() {
		say "--- act's log (last 60 lines):"
		tail -60 "$WORK/act.log" | sed 's/^/    /' >&2
		die "act: $*"
	}
	[[ $act_rc -eq 0 ]] || fail_act "exited $act_rc"
	JOBS=(stored-keys oidc)
	[[ -n $DEPLOY ]] && JOBS+=(deploy)
	for job in "${JOBS[@]}"; do
		grep -q "IMAGE_TEST_OK $job\$" "$WORK/act.log" || fail_act "job $job did not reach its check step's end"
		secret_file=$SRC/test/image/.act-out/$job.secret
		[[ -s $secret_file ]] || fail_act "job $job left no $secret_file"
		# The later step printed the secret key: act must show it masked.
		grep -qF -- "$(cat "$secret_file")" "$WORK/act.log" && fail_act "the secret access key of job $job is in act's log in the clear"
	done
	[[ $(grep -c 'secret key seen by a later step: \*\*\*$' "$WORK/act.log") -ge ${#JOBS[@]} ]] ||
		fail_act "act's log does not show the masked secret key for every job"
	grep -qF -- "$SRC_SECRET" "$WORK/act.log" && fail_act "the source secret key is in act's log in the clear"
	grep -q '"bearer_ok":true,"status":200' "$WORK/oidc-requests.log" || fail_act "the oidc job never got an ID token"
	[[ -n $DEPLOY ]] || say "SKIP act deploy job: the action binary does not deploy yet"
	say "act ran ${JOBS[*]}: credentials, masks and outputs reached the later steps"
fi
