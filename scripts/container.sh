# Shared by scripts/docker.sh and tests/docker/docker_test.sh: choosing the container
# engine, configuring podman for this machine, the base image, building the image, and the
# API socket docker-compose talks to. Source it after common.sh; it does nothing by itself.
# docs/docker.md explains the choices.

# The image scripts/docker.sh builds and runs, and the base image docker/Dockerfile needs.
ROT13_IMAGE=${ROT13_IMAGE:-localhost/rot13bench:latest}
ROT13_BASE_IMAGE=docker.io/library/debian:bookworm-slim
# The open-files limit inside every container: 10,000 connections need 10,000 descriptors
# in the server and as many in rot13-load, each a process of its own, plus a margin. The
# process limit: the fork server needs one per connection. Both are lowered to the caller's
# hard limits, since an engine cannot give more than it has; podman without
# CAP_SYS_RESOURCE lowers its own process limit to 32768, so that is the most it can give.
# Both are given to every container: podman drops its configured defaults for both as
# soon as one --ulimit is given.
ROT13_CONTAINER_NOFILE=${ROT13_CONTAINER_NOFILE:-20000}
ROT13_CONTAINER_NPROC=${ROT13_CONTAINER_NPROC:-32768}
# Where the scripts keep their podman configuration and the API socket (build trees are
# ignored by git and by docker build).
ROT13_CONTAINER_STATE=$ROT13_ROOT/build/container

# Sets ENGINE to docker or podman, whichever works here, and says which. $ROT13_ENGINE
# chooses; otherwise a docker whose daemon answers, else podman, installed (with runc)
# from Debian's packages when neither is there and we are root on Debian. For podman it
# also writes and exports the configuration (podman_config).
choose_engine() {
    ENGINE=${ROT13_ENGINE:-}
    if [ -z "$ENGINE" ]; then
        if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
            ENGINE=docker
        elif command -v podman >/dev/null 2>&1; then
            ENGINE=podman
        elif command -v dpkg-query >/dev/null 2>&1; then
            ensure_packages --no-recommends podman runc
            ENGINE=podman
        else
            die "no container engine: install docker or podman (a docker whose daemon is not running does not count)"
        fi
    fi
    command -v "$ENGINE" >/dev/null 2>&1 || die "ROT13_ENGINE=$ENGINE: no such command"
    if [ "$ENGINE" = podman ]; then
        podman_config
    fi
    log "container engine: $ENGINE $("$ENGINE" version --format '{{.Client.Version}}' 2>/dev/null || true)"
}

# Sets NOFILE and NPROC: ROT13_CONTAINER_NOFILE and _NPROC within the caller's hard limits.
container_limits() {
    NOFILE=$(ulimit -Hn)
    [ "$NOFILE" = unlimited ] || [ "$NOFILE" -gt "$ROT13_CONTAINER_NOFILE" ] && NOFILE=$ROT13_CONTAINER_NOFILE
    NPROC=$(ulimit -Hu)
    [ "$NPROC" = unlimited ] || [ "$NPROC" -gt "$ROT13_CONTAINER_NPROC" ] && NPROC=$ROT13_CONTAINER_NPROC
}

# Writes $ROT13_CONTAINER_STATE/containers.conf and points CONTAINERS_CONF at it, so that
# podman behaves the same whatever the machine's own files say:
# - netns "none": a container that asks for no network gets none, never the default
#   bridge (which would also switch on IP forwarding); our runs all say --network host.
# - the limits of container_limits: podman's defaults (1048576 open files) fail where the
#   hard limit is lower, as in some VMs.
# - runc when it is installed (crun refuses hybrid cgroup hierarchies), cgroupfs when
#   systemd is not PID 1 (no systemd to ask for cgroups), and events in a file (no journal).
podman_config() {
    local conf=$ROT13_CONTAINER_STATE/containers.conf
    mkdir -p "$ROT13_CONTAINER_STATE"
    container_limits
    {
        echo "# Written by scripts/container.sh (podman_config): see the comments there."
        echo "[containers]"
        echo "netns = \"none\""
        echo "default_ulimits = [\"nofile=$NOFILE:$NOFILE\", \"nproc=$NPROC:$NPROC\"]"
        echo "[engine]"
        echo "events_logger = \"file\""
        command -v runc >/dev/null 2>&1 && echo "runtime = \"runc\""
        [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || echo "cgroup_manager = \"cgroupfs\""
    } >"$conf"
    export CONTAINERS_CONF=$conf
}

# Makes sure the base image is there: kept if present; else made from Debian packages by
# docker/make-local-base.sh when ROT13_LOCAL_BASE=1 (machines that reach a Debian mirror
# but no registry); else pulled, and made locally if the pull fails.
ensure_base_image() {
    if "$ENGINE" image inspect "$ROT13_BASE_IMAGE" >/dev/null 2>&1; then
        return 0
    fi
    if [ "${ROT13_LOCAL_BASE:-0}" != 1 ]; then
        log "pulling $ROT13_BASE_IMAGE"
        timeout 300 "$ENGINE" pull "$ROT13_BASE_IMAGE" && return 0
        log "the pull failed: making $ROT13_BASE_IMAGE from Debian packages instead"
    fi
    "$ROT13_ROOT/docker/make-local-base.sh" "$ENGINE"
}

# Prints the commit the work tree is at (loadgen/git_commit.cmake decides, "-dirty" and
# all), or "unknown" without cmake or git.
source_commit() {
    if command -v cmake >/dev/null 2>&1; then
        cmake -DSOURCE_DIR="$ROT13_ROOT" -P "$ROT13_ROOT/loadgen/git_commit.cmake"
    else
        echo unknown
    fi
}

# Builds docker/Dockerfile into $ROT13_IMAGE, with the build's apt-get on the host's
# network (no bridge) and the commit as a build argument. Extra arguments go to the build.
#
# The layer cache is what makes a second build fast: the package layers are reused until
# scripts/packages.sh changes. The builder stage is tagged too ($ROT13_IMAGE's name with
# -builder): then removing the images an earlier build left behind, untagged (a copy of the
# sources and a build tree each), cannot take the package layers with them.
build_image() {
    local commit builder pull=()
    commit=$(source_commit)
    builder=${ROT13_IMAGE%:*}-builder:latest
    # The base image is there (ensure_base_image): never look for a newer one.
    [ "$ENGINE" = podman ] && pull=(--pull=never)
    log "building $ROT13_IMAGE (commit $commit)"
    local build=("$ENGINE" build "${pull[@]}" --network host -f "$ROT13_ROOT/docker/Dockerfile"
                 --build-arg GIT_COMMIT="$commit" "$@")
    "${build[@]}" --target builder -t "$builder" "$ROT13_ROOT"
    "${build[@]}" -t "$ROT13_IMAGE" "$ROT13_ROOT"
    "$ENGINE" image prune -f --filter label=rot13bench.stage=builder >/dev/null
    "$ENGINE" image prune -f --filter label=org.opencontainers.image.title=rot13bench >/dev/null
}

# The options every container of ours runs with: the host's network (loopback
# measurements, no bridge), the limits, and, for docker run by a normal user, that
# user's ids so that the results on the host belong to them (rootless podman maps its root
# to the user already).
run_options() {
    container_limits
    RUN_OPTIONS=(--network host --ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")
    if [ "$ENGINE" = docker ] && [ "$(id -u)" -ne 0 ]; then
        RUN_OPTIONS+=(--user "$(id -u):$(id -g)")
    fi
}

# Starts what docker-compose talks to, and sets COMPOSE to the command that runs it:
# docker's own socket, or for podman its Docker-compatible API on a socket of ours
# (podman system service), stopped by stop_compose_socket. docker-compose 1.29 is the
# Debian one; docker's "compose" plugin does as well.
start_compose_socket() {
    if command -v docker-compose >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    elif [ "$ENGINE" = docker ] && docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    else
        die "no docker-compose (Debian: apt-get install docker-compose)"
    fi
    COMPOSE_SERVICE_PID=""
    [ "$ENGINE" = podman ] || return 0
    local socket=$ROT13_CONTAINER_STATE/podman.sock
    rm -f "$socket"
    podman system service --time=0 "unix://$socket" >"$ROT13_CONTAINER_STATE/podman-service.log" 2>&1 &
    COMPOSE_SERVICE_PID=$!
    for _ in $(seq 100); do
        [ -S "$socket" ] && break
        sleep 0.1
    done
    [ -S "$socket" ] || die "podman system service did not start ($ROT13_CONTAINER_STATE/podman-service.log)"
    export DOCKER_HOST=unix://$socket
}

stop_compose_socket() {
    if [ -n "${COMPOSE_SERVICE_PID:-}" ]; then
        kill "$COMPOSE_SERVICE_PID" 2>/dev/null || true
        wait "$COMPOSE_SERVICE_PID" 2>/dev/null || true
        COMPOSE_SERVICE_PID=""
    fi
}
