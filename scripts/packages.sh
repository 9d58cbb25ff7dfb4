# The Debian package lists, sourced by scripts/common.sh (which installs them:
# ensure_packages) and by docker/Dockerfile. Only lists here: the Dockerfile copies this file
# alone, and its package layers are rebuilt only when it changes.

# Debian/Ubuntu packages the build needs (docker/Dockerfile's builder installs only these),
# and those the build, the tests and the charts need.
ROT13_BUILD_PACKAGES=(cmake g++ make pkg-config libevent-dev libboost-dev nlohmann-json3-dev liburing-dev
                      libbenchmark-dev zlib1g-dev)
ROT13_PACKAGES=("${ROT13_BUILD_PACKAGES[@]}" libgtest-dev python3-matplotlib python3-numpy python3-pytest)

# What the binaries and scripts/report need at run time: docker/Dockerfile's runtime stage,
# which is Debian 12 (these are bookworm's library package names). python3-munkres is
# there to be chosen over python3-scipy for a dependency of matplotlib's (python3-fonttools
# needs one of the two): scipy would bring pythran with g++ and Boost, 600 MB more.
ROT13_RUNTIME_PACKAGES=(libevent-2.1-7 liburing2 libbenchmark1debian zlib1g
                        python3-matplotlib python3-numpy python3-munkres)

# A container engine and what scripts/docker.sh and its test need around it on Debian:
# podman with runc (crun refuses hybrid cgroups), debootstrap for a local base image where
# no registry is reachable (docker/make-local-base.sh), and docker-compose 1.29, which
# drives podman through its API socket (podman-compose ignores cpuset: not that one).
ROT13_CONTAINER_PACKAGES=(podman runc debootstrap docker-compose)

# The multi-host tests (tests/multihost/) make hosts of network namespaces, which needs root,
# and reach one of them through a real sshd that the test starts inside a namespace; the
# Kubernetes manifests (docker/k8s/) are checked against the API models of python3-kubernetes.
ROT13_MULTIHOST_PACKAGES=(iproute2 openssh-server python3-yaml python3-kubernetes)
