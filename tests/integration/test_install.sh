#!/usr/bin/env bash
# make install / make uninstall into a temporary DESTDIR (PREFIX=/usr), from
# an existing build (BUILD, default build/; built only if missing):
# every file is there, the systemd units name the installed binary, the man
# page renders with man -l without warnings, the bash completion completes,
# the man page's OPTIONS and `avalanche --help` list the same options (each
# one missing on either side is a failure naming it), and uninstall leaves
# no file behind.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
pass=0 fail=0
check() { # name command...
    local name=$1; shift
    if out=$("$@" 2>&1) && [ -z "$out" ]; then pass=$((pass + 1)); echo "ok    $name"
    else fail=$((fail + 1)); echo "FAIL  $name"; echo "$out"; fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
files=(usr/bin/avalanche usr/share/man/man1/avalanche.1.gz
       usr/lib/systemd/system/avalanche.service usr/lib/systemd/system/avalanche-run.service
       usr/lib/systemd/system/avalanche-run.timer
       usr/share/doc/avalanche/avalanche.conf.example
       usr/share/bash-completion/completions/avalanche)

# Build the binary only if it is missing; install it as it is (-o: make does
# not remake it, so a test run installs exactly the build it tests).
if [ ! -x "$BUILD/avalanche" ]; then
    make -s BUILD="$BUILD" "$BUILD/avalanche" >"$tmp/build.log" 2>&1 ||
        { tail -20 "$tmp/build.log"; echo "install: 0 passed, 1 failed"; exit 1; }
fi
do_install() {
    make -s BUILD="$BUILD" -o "$BUILD/avalanche" install DESTDIR="$dest" PREFIX=/usr \
        >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; return 1; }
}
check make-install do_install
[ "$fail" -eq 0 ] || { echo "install: $pass passed, $fail failed"; exit 1; }

all_files_there() {
    local f
    for f in "${files[@]}"; do [ -f "$dest/$f" ] || echo "missing: $f"; done
    [ -x "$dest/usr/bin/avalanche" ] || echo "not executable: usr/bin/avalanche"
    # nothing else was installed
    (cd "$dest" && find . -type f | sed 's|^\./||' | sort) >"$tmp/got"
    printf '%s\n' "${files[@]}" | sort >"$tmp/want"
    comm -23 "$tmp/got" "$tmp/want" | sed 's/^/unexpected: /'
}
check installed-files all_files_there
check installed-binary-runs bash -c "'$dest/usr/bin/avalanche' --version | grep -q '^avalanche ' || echo 'no version'"

units_name_installed_binary() {
    local u
    for u in avalanche.service avalanche-run.service; do
        grep -q '^ExecStart=/usr/bin/avalanche ' "$dest/usr/lib/systemd/system/$u" ||
            echo "$u: ExecStart does not name /usr/bin/avalanche"
        grep -n '^ExecStart=' "$dest/usr/lib/systemd/system/$u" | grep -v '=/usr/bin/avalanche '
    done
    # the rest of each unit is contrib/'s, unchanged
    for u in avalanche.service avalanche-run.service avalanche-run.timer; do
        diff <(grep -v '^ExecStart=' "contrib/systemd/$u") \
             <(grep -v '^ExecStart=' "$dest/usr/lib/systemd/system/$u")
    done
}
check units-name-installed-binary units_name_installed_binary

example_config_loads() {
    # the example is a usable configuration: it loads and keeps the defaults
    "$dest/usr/bin/avalanche" regions --config "$dest/usr/share/doc/avalanche/avalanche.conf.example" \
        >/dev/null || echo "avalanche refuses the example configuration"
    cmp -s "$dest/usr/share/doc/avalanche/avalanche.conf.example" <("$BUILD/avalanche" help-config) ||
        echo "the example is not help-config's output"
}
check example-config-loads example_config_loads

man_renders() {
    local page=$dest/usr/share/man/man1/avalanche.1.gz
    MANWIDTH=80 man -l --warnings "$page" 2>&1 >"$tmp/man.txt"
    grep -q 'avalanche' "$tmp/man.txt" || echo "man -l rendered nothing"
    zcat "$page" | cmp -s - doc/avalanche.1 || echo "installed page is not doc/avalanche.1"
}
check man-renders-without-warnings man_renders

completion_works() {
    bash -c '
        source "$1" || exit 1
        spec=$(complete -p avalanche) || exit 1
        fn=$(sed -E "s/.*-F ([^ ]+) .*/\1/" <<<"$spec")
        COMP_WORDS=(avalanche ex); COMP_CWORD=1; COMP_LINE="avalanche ex"; COMP_POINT=12
        "$fn" avalanche ex avalanche
        [ "${COMPREPLY[*]}" = export ] || echo "avalanche ex<TAB> gives: ${COMPREPLY[*]}"
        COMP_WORDS=(avalanche export --form); COMP_CWORD=2
        "$fn" avalanche --form export
        [ "${COMPREPLY[*]}" = --format ] || echo "avalanche export --form<TAB> gives: ${COMPREPLY[*]}"
    ' _ "$dest/usr/share/bash-completion/completions/avalanche"
}
check completion-completes-export completion_works

# The options of `avalanche --help` (every -x / --xx token in it) against
# the tags of the man page's OPTIONS section (the line after each .TP/.TQ).
help_opts() {
    "$BUILD/avalanche" --help | grep -oE '(^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*|-[A-Za-z])\b' |
        grep -oE -- '-.*' | sort -u
}
man_opts() {
    zcat "$dest/usr/share/man/man1/avalanche.1.gz" |
        awk '/^\.SH/ { sec = $2 } sec == "OPTIONS" && tag { print; tag = 0 }
             sec == "OPTIONS" && /^\.(TP|TQ)/ { tag = 1 }' |
        sed 's/\\-/-/g; s/\\f[BIRP]//g' |
        grep -oE '(^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*|-[A-Za-z])\b' | grep -oE -- '-.*' | sort -u
}
man_matches_help() {
    help_opts >"$tmp/help.opts"
    man_opts >"$tmp/man.opts"
    [ -s "$tmp/help.opts" ] || echo "no options parsed from --help"
    [ -s "$tmp/man.opts" ] || echo "no options parsed from the man page's OPTIONS"
    comm -23 "$tmp/help.opts" "$tmp/man.opts" | sed 's/^/in --help, not in the man page: /'
    comm -13 "$tmp/help.opts" "$tmp/man.opts" | sed 's/^/in the man page, not in --help: /'
}
check man-options-are-help-options man_matches_help
echo "  ($(wc -l <"$tmp/help.opts") options in --help, $(wc -l <"$tmp/man.opts") in the man page)"

# The commands --help lists are each a COMMANDS entry of the man page.
man_has_commands() {
    local c
    for c in $("$BUILD/avalanche" --help | sed -n '/^commands:/,/^options:/p' |
               sed -nE 's/^  ([a-z][a-z-]*).*/\1/p'); do
        zcat "$dest/usr/share/man/man1/avalanche.1.gz" |
            awk '/^\.SH/ { sec = $2 } sec == "COMMANDS" && tag { print; tag = 0 }
                 sec == "COMMANDS" && /^\.TP/ { tag = 1 }' |
            sed 's/\\-/-/g' | grep -qE "^\.BR? $c( |$)" || echo "command not in the man page: $c"
    done
}
check man-has-every-command man_has_commands

# The completion offers exactly the options --help prints.
completion_opts_are_help_opts() {
    bash -c 'source "$1"; COMP_WORDS=(avalanche run -); COMP_CWORD=2; _avalanche
             printf "%s\n" "${COMPREPLY[@]}"' _ contrib/bash-completion/avalanche | sort -u >"$tmp/comp.opts"
    comm -3 "$tmp/help.opts" "$tmp/comp.opts" | sed 's/^/completion and --help differ: /'
}
check completion-options-are-help-options completion_opts_are_help_opts

do_uninstall() {
    make -s BUILD="$BUILD" -o "$BUILD/avalanche" uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1 ||
        { cat "$tmp/uninstall.log"; return 1; }
    (cd "$dest" && find . ! -type d | sed 's|^\./|left behind: |')
}
check uninstall-leaves-nothing do_uninstall

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
