# Test hosts made of network namespaces, for tests/multihost/*_test.sh. Source it; it does
# nothing by itself. Three namespaces joined by two veth pairs, the addresses existing only
# inside them:
#
#   $NS_SERVER  10.213.0.1 on lo (the service address)
#               $VETH_S1 10.213.1.1/24 ---- $VETH_G1 10.213.1.2/24  $NS_GEN1
#               $VETH_S2 10.213.2.1/24 ---- $VETH_G2 10.213.2.2/24  $NS_GEN2 (sshd here)
#
# Nothing routes between the namespaces and the machine's own network: no address, route
# or forwarding is added outside them. netns_cleanup (installed as an EXIT trap by
# netns_create) kills every process left in the namespaces and deletes them, so that
# `ip netns list` is as it was, whether the test passed, failed or was interrupted.

SERVER_ADDRESS=10.213.0.1
GEN1_ADDRESS=10.213.1.2
GEN2_ADDRESS=10.213.2.2

# Exit 77 (ctest: skipped) with the reason.
skip() {
    echo "SKIPPED: $*"
    exit 77
}

# Skips unless namespaces can be made here: root, iproute2, and a kernel that allows it.
netns_require() {
    [ "$(id -u)" -eq 0 ] || skip "network namespaces need root (run as root, e.g. in CI)"
    command -v ip >/dev/null || skip "iproute2's ip is not installed (Debian: apt-get install iproute2)"
    ip netns list >/dev/null 2>&1 || skip "ip netns does not work here: $(ip netns list 2>&1 | head -1)"
}

# Names unique to this test process, so that tests running at once do not collide. veth
# names are limited to 15 characters.
netns_names() {
    local tag="r13$(( $$ % 100000 ))"
    NS_SERVER="$tag-server"
    NS_GEN1="$tag-gen1"
    NS_GEN2="$tag-gen2"
    VETH_S1="$tag-s1"
    VETH_G1="$tag-g1"
    VETH_S2="$tag-s2"
    VETH_G2="$tag-g2"
}

netns_cleanup() {
    local ns pid
    for ns in "$NS_SERVER" "$NS_GEN1" "$NS_GEN2"; do
        ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
        # Every process in a namespace we made is ours: servers, generators, sshd, ssh.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || echo "warning: could not delete namespace $ns" >&2
    done
}

# Creates the namespaces, the links and the addresses; skips if the kernel refuses.
netns_create() {
    netns_names
    trap netns_cleanup EXIT
    trap 'exit 130' INT TERM
    local why
    why=$(ip netns add "$NS_SERVER" 2>&1) || skip "cannot create a network namespace: $why"
    ip netns add "$NS_GEN1"
    ip netns add "$NS_GEN2"
    why=$(ip link add "$VETH_S1" netns "$NS_SERVER" type veth peer name "$VETH_G1" netns "$NS_GEN1" 2>&1) \
        || skip "cannot create a veth pair: $why"
    ip link add "$VETH_S2" netns "$NS_SERVER" type veth peer name "$VETH_G2" netns "$NS_GEN2"
    local ns
    for ns in "$NS_SERVER" "$NS_GEN1" "$NS_GEN2"; do ip -n "$ns" link set lo up; done
    ip -n "$NS_SERVER" addr add "$SERVER_ADDRESS/32" dev lo
    ip -n "$NS_SERVER" addr add 10.213.1.1/24 dev "$VETH_S1"
    ip -n "$NS_SERVER" addr add 10.213.2.1/24 dev "$VETH_S2"
    ip -n "$NS_SERVER" link set "$VETH_S1" up
    ip -n "$NS_SERVER" link set "$VETH_S2" up
    ip -n "$NS_GEN1" addr add "$GEN1_ADDRESS/24" dev "$VETH_G1"
    ip -n "$NS_GEN1" link set "$VETH_G1" up
    ip -n "$NS_GEN1" route add "$SERVER_ADDRESS/32" via 10.213.1.1
    ip -n "$NS_GEN2" addr add "$GEN2_ADDRESS/24" dev "$VETH_G2"
    ip -n "$NS_GEN2" link set "$VETH_G2" up
    ip -n "$NS_GEN2" route add "$SERVER_ADDRESS/32" via 10.213.2.1
}

# The PIDs of processes named $2 (their comm) in namespace $1.
netns_pids_named() {
    local pid
    for pid in $(ip netns pids "$1" 2>/dev/null); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && echo "$pid"
    done
    return 0
}

# netns_wait NS NAME SECONDS started|gone: waits up to SECONDS until a process named NAME
# runs in namespace NS, or until none is left; fails when the time is up.
netns_wait() {
    local deadline=$(( SECONDS + $3 ))
    until { [ "$4" = started ] && [ -n "$(netns_pids_named "$1" "$2")" ]; } ||
          { [ "$4" = gone ] && [ -z "$(netns_pids_named "$1" "$2")" ]; }; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# A real sshd in $NS_GEN2 on $GEN2_ADDRESS:22, with throwaway keys under $1, and
# SSH_TO_GEN2: the command prefix that runs a command there from $NS_SERVER, sharing one
# connection (ControlMaster: a command starts in ~0.1 s instead of ~0.4 s).
sshd_start() {
    local dir=$1
    [ -x /usr/sbin/sshd ] || skip "openssh-server is not installed (Debian: apt-get install openssh-server)"
    command -v ssh >/dev/null || skip "ssh is not installed (Debian: apt-get install openssh-client)"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
    ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
    cp "$dir/client_key.pub" "$dir/authorized_keys"
    # StrictModes no: the keys live under /tmp, which sshd would otherwise refuse. The
    # client-alive probes end a session 3 s after its link is cut, which closes the remote
    # command's stdin: that is how a remote generator learns that it is orphaned.
    cat >"$dir/sshd_config" <<CONFIG
ListenAddress $GEN2_ADDRESS
Port 22
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
ClientAliveInterval 1
ClientAliveCountMax 3
LogLevel ERROR
CONFIG
    mkdir -p /run/sshd  # sshd's privilege-separation directory (systemd makes it at boot)
    ip netns exec "$NS_GEN2" /usr/sbin/sshd -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
    disown  # netns_cleanup kills it; no "Killed" notice from bash then
    SSH_OPTIONS=(-F /dev/null -i "$dir/client_key" -o BatchMode=yes -o StrictHostKeyChecking=no
                 -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)
    SSH_TO_GEN2=(ip netns exec "$NS_SERVER" ssh "${SSH_OPTIONS[@]}" -o ControlMaster=auto
                 -o "ControlPath=$dir/control-%C" -o ControlPersist=120 "root@$GEN2_ADDRESS")
    # Without connection sharing, for the test that cuts a link under one session.
    SSH_TO_GEN2_ALONE=(ip netns exec "$NS_SERVER" ssh "${SSH_OPTIONS[@]}" -o ServerAliveInterval=1
                       -o ServerAliveCountMax=3 "root@$GEN2_ADDRESS")
    local deadline=$(( SECONDS + 10 ))
    until "${SSH_TO_GEN2[@]}" /bin/true 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { cat "$dir/sshd.log" >&2; echo "FAILED: sshd did not answer" >&2; exit 1; }
        sleep 0.2
    done
}

# The start of a test across the namespaces through the sshd: skips without what it needs,
# then makes WORK (a new directory /tmp/$1.XXXXXX), the namespaces and the sshd, all
# removed at exit.
netns_setup_with_sshd() {
    netns_require
    [ -x /usr/sbin/sshd ] || skip "openssh-server is not installed (Debian: apt-get install openssh-server)"
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    netns_create
    trap 'netns_cleanup; rm -rf "$WORK"' EXIT
    sshd_start "$WORK"
}

# Starts "$@" in the background with stdout to $SERVER_OUT and waits for its readiness
# line; sets SERVER_PORT.
server_start() {
    "$@" >"$SERVER_OUT" 2>&1 &
    disown
    local deadline=$(( SECONDS + 10 ))
    until grep -q "^listening on " "$SERVER_OUT" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { cat "$SERVER_OUT" >&2; echo "FAILED: no readiness line" >&2; exit 1; }
        sleep 0.05
    done
    SERVER_PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$SERVER_OUT" | head -1)
}

# Seconds since the Unix epoch, $1 seconds from now, with milliseconds.
epoch_in() {
    /usr/bin/python3 -c "import time, sys; print('%.3f' % (time.time() + float(sys.argv[1])))" "$1"
}

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
