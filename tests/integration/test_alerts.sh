#!/usr/bin/env bash
# The Prometheus alert rules in contrib/prometheus/: `promtool check rules`
# (valid rules), `promtool test rules` (each alert fires on sample series and
# stays quiet on others), every metric they use is one /metrics serves
# (src/http/metrics.c), and their thresholds are `status --check`'s defaults.
# promtool only: no Prometheus server is started or needed (Debian's
# prometheus package, scripts/install-deps --test).
set -u
cd "$(dirname "$0")/../.."
bin=${AVALANCHE_BIN:-build/avalanche}
pass=0 fail=0
check() { # name command... (output shown only on failure)
    local name=$1; shift
    if out=$("$@" 2>&1); then pass=$((pass + 1)); echo "ok    $name"
    else fail=$((fail + 1)); echo "FAIL  $name"; echo "$out"; fi
}
dir=contrib/prometheus
rules=$dir/avalanche.rules.yml
have_promtool() {
    command -v promtool >/dev/null ||
        { echo "no promtool: run scripts/install-deps --test"; return 1; }
}
check promtool-installed have_promtool
check promtool-check-rules promtool check rules "$rules"
check promtool-test-rules promtool test rules "$dir/avalanche.rules.test.yml" \
    "$dir/avalanche.season.test.yml"
metrics_exist() {
    local m bad=0
    for m in $(grep -oE 'avalanche_[a-z_]+' "$rules" | sort -u); do
        grep -q "\"$m[ {]" src/http/metrics.c ||
            grep -q "\"# HELP $m " src/http/metrics.c ||
            { echo "$rules uses $m, which src/http/metrics.c does not serve"; bad=1; }
    done
    return $bad
}
check rules-use-served-metrics metrics_exist
# the thresholds written in the rules are the defaults of check.*
same_thresholds() {
    local conf want
    conf=$("$bin" help-config) || return 1
    val() { sed -n "/^\[$1\]/,/^\[/s/^$2 = //p" <<<"$conf" | head -n 1; }
    want="stale_hours $(val check stale_hours), max_lag $(val check max_lag)"
    want+=", archive_lag_days $(val weather archive_lag_days)"
    want+=", weather_behind_days $(val check weather_behind_days)"
    grep -qF "/ 3600 > $(val check stale_hours)" "$rules" &&
        grep -qF "avalanche_kafka_consumer_lag) > $(val check max_lag)" "$rules" &&
        grep -qF "> ($(val weather archive_lag_days) + $(val check weather_behind_days) + 1)" \
            "$rules" || { echo "rules' thresholds differ from check.* defaults ($want)"; return 1; }
}
check rules-thresholds-are-check-defaults same_thresholds
echo "alerts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
