#!/usr/bin/env bash
# The Debian package, on this machine, as root (CI: a fresh Debian 12):
# `make deb` from an existing build (BUILD, default build/; built only if
# missing), lintian with no error or warning, the package's files are make
# install's (units in /lib/systemd/system) plus the conffile, copyright,
# changelog and lintian overrides; `dpkg -i`, then the installed avalanche
# runs (--version, regions), systemd-analyze verify passes on the installed
# units, the system user avalanche exists, /etc/avalanche/avalanche.conf is
# a conffile the user can read, /var/lib/avalanche is the user's,
# avalanche.service is enabled and the timer not; `dpkg -r` leaves only the
# conffile, the state and the user; `dpkg -P` leaves nothing of the package
# (the user is kept: Debian's policy, see packaging/debian/postrm); a
# reinstall after the purge reuses the user; a reinstall over itself keeps
# an edited conffile. No systemd needs to run (nothing is started).
#
# It installs on the machine: first and last it purges an avalanche package
# (one left by an earlier, failed run too) and removes the system user
# avalanche with what it owns in /var/lib/avalanche; it refuses to run over
# an avalanche that no package owns.
# Needs: dpkg-dev, lintian, systemd (systemd-analyze), adduser.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
pass=0 fail=0
check() { # name command...
    local name=$1; shift
    if out=$("$@" 2>&1) && [ -z "$out" ]; then pass=$((pass + 1)); echo "ok    $name"
    else fail=$((fail + 1)); echo "FAIL  $name"; echo "$out"; fi
}
finish() { echo "deb: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

units=(avalanche.service avalanche-run.service avalanche-run.timer)
version=$(sed -n 's/^VERSION := //p' Makefile)
deb_version=$version-1

# Our user: a system account named avalanche whose home is the package's
# state directory (an account that merely shares the name is left alone).
our_user() {
    local ent
    ent=$(getent passwd avalanche) || return 1
    IFS=: read -r _ _ uid _ _ home _ <<<"$ent"
    [ "$uid" -lt 1000 ] && [ "$home" = /var/lib/avalanche ]
}
# The machine without the package: purged if dpkg knows it, then our user
# and what it still owns in /var/lib/avalanche (a run that failed left it)
# removed. Run first (a run killed half-way) and last.
cleanup_machine() {
    if dpkg-query -W -f='${db:Status-Status}' avalanche 2>/dev/null | grep -qv '^not-installed$'; then
        dpkg -P avalanche >"$tmp/cleanup.log" 2>&1 || { cat "$tmp/cleanup.log"; return 1; }
    fi
    our_user || return 0
    if [ -d /var/lib/avalanche ] && [ "$(stat -c %U /var/lib/avalanche)" = avalanche ]; then
        rm -rf /var/lib/avalanche
    fi
    deluser --system --quiet avalanche >/dev/null 2>&1 || true
    if getent group avalanche >/dev/null; then delgroup --system --quiet avalanche >/dev/null 2>&1; fi
    return 0
}

preconditions() {
    [ "$(id -u)" -eq 0 ] || echo "must run as root (it installs the package)"
    local c
    for c in dpkg-deb dpkg-shlibdeps:dpkg-dev lintian systemd-analyze:systemd adduser deluser:adduser; do
        command -v "${c%%:*}" >/dev/null || echo "${c%%:*} is missing (Debian package ${c#*:})"
    done
    [ -f "$BUILD/avalanche" ] || [ -f Makefile ] || echo "not in the source tree"
}
check preconditions preconditions
[ "$fail" -eq 0 ] || finish

# 0. a package left by an earlier (failed) run is purged first; an
# avalanche that no package owns is not overwritten
cleanup_first() {
    cleanup_machine || return 1
    local f
    for f in /usr/bin/avalanche /lib/systemd/system/avalanche.service /etc/avalanche /var/lib/avalanche; do
        [ ! -e "$f" ] || echo "$f exists and no avalanche package owns it: not overwriting it"
    done
    getent passwd avalanche >/dev/null && echo "a user avalanche exists that is not the package's"
    return 0
}
check clean-machine-first cleanup_first
[ "$fail" -eq 0 ] || finish

# 1. make deb (its hardened binary in $BUILD/hardened, made if out of date)
deb=build/deb/avalanche_${deb_version}_$(dpkg --print-architecture).deb
make_deb() {
    rm -f "$deb"
    make -s --no-print-directory BUILD="$BUILD" deb >"$tmp/deb.log" 2>&1 ||
        { tail -40 "$tmp/deb.log"; return 1; }
    [ -f "$deb" ] || { echo "no $deb"; cat "$tmp/deb.log"; return 1; }
    # make-deb prints the package's path and nothing else (dpkg-shlibdeps
    # warnings would show here)
    [ "$(cat "$tmp/deb.log")" = "$PWD/$deb" ] || cat "$tmp/deb.log"
}
check make-deb make_deb
[ "$fail" -eq 0 ] || finish

lintian_clean() {
    lintian "$deb" >"$tmp/lintian.log" 2>&1
    grep -v '^running with root privileges is not recommended!$' "$tmp/lintian.log" | grep -E '^[EW]: '
    return 0
}
check lintian-no-errors-or-warnings lintian_clean
# built with Debian's hardening flags: lintian's hardening tags stay away
hardened() {
    lintian -I "$deb" 2>&1 | grep -E 'hardening-no-' || true
}
check binary-is-hardened hardened
# for the record: every tag down to info, and the overridden ones
lintian -I --show-overrides "$deb" 2>/dev/null | sed 's/^/  (lintian) /'

# The package's files: make install's (PREFIX=/usr; the units moved to
# /lib/systemd/system) and the Debian ones, nothing else.
pkg_files=(usr/bin/avalanche usr/share/man/man1/avalanche.1.gz
           lib/systemd/system/avalanche.service lib/systemd/system/avalanche-run.service
           lib/systemd/system/avalanche-run.timer
           usr/share/doc/avalanche/avalanche.conf.example
           usr/share/bash-completion/completions/avalanche
           etc/avalanche/avalanche.conf usr/share/doc/avalanche/copyright
           usr/share/doc/avalanche/changelog.Debian.gz usr/share/lintian/overrides/avalanche)
package_contents() {
    dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./||' | sort >"$tmp/got"
    printf '%s\n' "${pkg_files[@]}" | sort >"$tmp/want"
    comm -23 "$tmp/want" "$tmp/got" | sed 's/^/missing: /'
    comm -13 "$tmp/want" "$tmp/got" | sed 's/^/unexpected: /'
    dpkg-deb --fsys-tarfile "$deb" | tar -tv | awk '$2 != "root/root" { print "not root/root: " $0 }'
}
check package-has-make-installs-files package_contents

control_fields() {
    local dep
    dep=$(dpkg-deb -f "$deb" Depends)
    for p in adduser libc6 libcurl4 libsqlite3-0 librdkafka1 libmicrohttpd12; do
        grep -qE "(^|, )$p( |,|$)" <<<"$dep" || echo "Depends has no $p: $dep"
    done
    [ "$(dpkg-deb -f "$deb" Version)" = "$deb_version" ] || echo "Version is not $deb_version"
    [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || echo "wrong Architecture"
    dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | cmp -s - <(echo /etc/avalanche/avalanche.conf) ||
        echo "conffiles is not /etc/avalanche/avalanche.conf"
}
check control-depends-version-conffiles control_fields

# 2. dpkg -i
dpkg_ok() { # log command... : succeeds without a dpkg warning or error
    local log=$1; shift
    "$@" >"$log" 2>&1 || { cat "$log"; return 1; }
    grep -iE 'warning|error' "$log"
    return 0
}
check dpkg-install dpkg_ok "$tmp/install.log" dpkg -i "$deb"
[ "$(dpkg-query -W -f='${db:Status-Status}' avalanche 2>/dev/null)" = installed ] ||
    { echo "not installed"; fail=$((fail + 1)); cleanup_machine; finish; }

installed_version() {
    local v
    v=$(/usr/bin/avalanche --version) || return 1
    [ "$v" = "avalanche $version" ] || echo "avalanche --version says: $v"
}
check version installed_version
installed_regions() {
    /usr/bin/avalanche regions >"$tmp/regions" || return 1
    [ "$(grep -cE '^30[0-9]{2} ' "$tmp/regions")" -eq 46 ] || { echo "not 46 regions:"; cat "$tmp/regions"; }
}
check regions installed_regions
verify_units() {
    local u paths=()
    for u in "${units[@]}"; do paths+=("/lib/systemd/system/$u"); done
    systemd-analyze verify "${paths[@]}"
}
check systemd-analyze-verify verify_units
units_for_the_package() {
    local u
    for u in avalanche.service avalanche-run.service; do
        grep -q '^User=avalanche$' "/lib/systemd/system/$u" || echo "$u: not User=avalanche"
        grep -n '^DynamicUser=' "/lib/systemd/system/$u"
        grep -q '^ExecStart=/usr/bin/avalanche .*--config /etc/avalanche/avalanche.conf' \
            "/lib/systemd/system/$u" || echo "$u: ExecStart is not /usr/bin/avalanche --config /etc/avalanche/avalanche.conf"
        grep -q '^Environment=AVALANCHE_STORE_PATH=/var/lib/avalanche/' "/lib/systemd/system/$u" ||
            echo "$u: the database is not under /var/lib/avalanche"
    done
}
check units-run-as-avalanche units_for_the_package

system_user() {
    our_user || { echo "no system user avalanche with home /var/lib/avalanche: $(getent passwd avalanche)"; return; }
    [ "$(getent passwd avalanche | cut -d: -f7)" = /usr/sbin/nologin ] || echo "avalanche can log in"
    [ "$(id -gn avalanche)" = avalanche ] || echo "the user's group is not avalanche"
}
check system-user system_user

conffile() {
    local c=/etc/avalanche/avalanche.conf
    dpkg-query -W -f='${Conffiles}\n' avalanche | grep -q "^ $c [0-9a-f]\{32\}$" ||
        echo "$c is not a conffile: $(dpkg-query -W -f='${Conffiles}' avalanche)"
    [ "$(stat -c '%U:%G %a' "$c")" = "root:avalanche 640" ] || echo "$c is $(stat -c '%U:%G %a' "$c")"
    grep -qx 'path = /var/lib/avalanche/avalanche.db' "$c" || echo "store.path is not in /var/lib/avalanche"
    # the service's user reads it and the program accepts it
    runuser -u avalanche -- /usr/bin/avalanche regions --config "$c" >/dev/null ||
        echo "avalanche (as the user avalanche) refuses $c"
}
check conffile-etc-avalanche conffile

state_dir() {
    [ "$(stat -c '%U:%G %a' /var/lib/avalanche)" = "avalanche:avalanche 750" ] ||
        echo "/var/lib/avalanche is $(stat -c '%U:%G %a' /var/lib/avalanche)"
    # synthetic state: a file the user writes where the units keep the database
    runuser -u avalanche -- sh -c 'echo synthetic > /var/lib/avalanche/avalanche.db' ||
        echo "the user avalanche cannot write /var/lib/avalanche"
}
check state-dir-owned-by-avalanche state_dir

enablement() {
    [ "$(readlink /etc/systemd/system/multi-user.target.wants/avalanche.service)" = \
        /lib/systemd/system/avalanche.service ] || echo "avalanche.service is not enabled"
    [ ! -e /etc/systemd/system/timers.target.wants/avalanche-run.timer ] ||
        echo "avalanche-run.timer is enabled (it is the alternative to the daemon)"
}
check service-enabled-timer-not enablement

# 3. dpkg -r: the conffile, the state and the user stay
check dpkg-remove dpkg_ok "$tmp/remove.log" dpkg -r avalanche
after_remove() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' avalanche)" = config-files ] ||
        echo "state after dpkg -r: $(dpkg-query -W -f='${db:Status-Status}' avalanche)"
    local f
    for f in "${pkg_files[@]}"; do
        [ "$f" = etc/avalanche/avalanche.conf ] && continue
        [ ! -e "/$f" ] || echo "left after dpkg -r: /$f"
    done
    [ -f /etc/avalanche/avalanche.conf ] || echo "the conffile went with dpkg -r"
    [ -f /var/lib/avalanche/avalanche.db ] || echo "the state went with dpkg -r"
    our_user || echo "the user went with dpkg -r"
}
check remove-keeps-config-state-user after_remove

# 4. dpkg -P: nothing of the package is left (the user is kept)
check dpkg-purge dpkg_ok "$tmp/purge.log" dpkg -P avalanche
leftovers() { # what of the package is on the machine
    local f
    dpkg-query -W avalanche >/dev/null 2>&1 && echo "dpkg still knows avalanche"
    for f in "${pkg_files[@]}" usr/share/doc/avalanche etc/avalanche var/lib/avalanche; do
        [ ! -e "/$f" ] || echo "left: /$f"
    done
    find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
        /var/lib/systemd/deb-systemd-helper-masked -name 'avalanche*' 2>/dev/null | sed 's/^/left: /'
}
after_purge() {
    leftovers
    our_user || echo "the user went with dpkg -P (the policy is to keep it)"
}
check purge-leaves-nothing-keeps-user after_purge

# 5. again after the purge, with the kept user: reused, state recreated;
# then over itself with an edited conffile: the edit stays
check reinstall-after-purge dpkg_ok "$tmp/install2.log" dpkg -i "$deb"
reinstalled() {
    [ "$(stat -c '%U:%G' /var/lib/avalanche)" = avalanche:avalanche ] || echo "no /var/lib/avalanche of avalanche"
    [ "$(getent passwd avalanche | wc -l)" = 1 ] || echo "more than one user avalanche"
    echo '# synthetic edit' >>/etc/avalanche/avalanche.conf
    dpkg_ok "$tmp/install3.log" dpkg -i "$deb"
    [ "$(tail -1 /etc/avalanche/avalanche.conf)" = '# synthetic edit' ] || echo "the edited conffile was replaced"
    [ "$(stat -c '%U:%G %a' /etc/avalanche/avalanche.conf)" = "root:avalanche 640" ] ||
        echo "after reinstall the conffile is $(stat -c '%U:%G %a' /etc/avalanche/avalanche.conf)"
}
check reinstall-keeps-edited-conffile reinstalled
check purge-again dpkg_ok "$tmp/purge2.log" dpkg -P avalanche
check nothing-left leftovers

# the machine as it was, also after a failure: the user the package
# created goes too
check clean-machine-last cleanup_machine
finish
