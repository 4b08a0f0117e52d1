#!/bin/sh
# crawl-bench.sh: crawls N local product pages with the crawler's engine and with curl --parallel on the same URL list; prints a table for bench/RESULTS.md.
#
# usage: bench/crawl-bench.sh BUILD_DIR [PAGES...]     (default pages: 1000 10000; concurrency: $CONC or 200)
# Needs bench/bench-httpd, bench/crawl-bench and pricewatchd built in BUILD_DIR
# (make bench/bench-httpd bench/crawl-bench pricewatchd), curl(1), redis-server(1) and GNU time
# (/usr/bin/time). Each row is the median of $REPEAT runs (default 3) by pages/s.
set -eu

build=${1:?usage: bench/crawl-bench.sh BUILD_DIR [PAGES...]}
shift
[ $# -gt 0 ] || set -- 1000 10000
conc=${CONC:-200}
repeat=${REPEAT:-3}
max=0
for n in "$@"; do [ "$n" -gt "$max" ] && max=$n; done

tmp=$(mktemp -d /tmp/pw-crawl-bench-XXXXXX)
server_pid=
redis_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

"$build/bench/bench-httpd" --pages "$max" --threads 4 --urls-file "$tmp/urls-all.txt" >"$tmp/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/server.out" ] && break; sleep 0.1; done
base=$(awk 'NR == 1 { print $1 }' "$tmp/server.out")
[ -n "$base" ] || { echo "crawl-bench: bench-httpd did not start" >&2; exit 1; }

# The daemon stores into its own redis-server (not its child, so that GNU time measures pricewatchd alone).
redis-server --port 0 --unixsocket "$tmp/redis.sock" --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 1 50); do [ -S "$tmp/redis.sock" ] && break; sleep 0.1; done

# One measured run: prints "pages_per_s cpu_ms_per_page maxrss_kib wall_s".
measure() {
	out=$tmp/time.out
	if [ "$1" = daemon ]; then
		# pricewatchd --once over the first $pages pages, into an empty Redis so that every page is recorded.
		redis-cli -s "$tmp/redis.sock" flushall >/dev/null
		set -- "$build/pricewatchd" -f -c "$tmp/pw.conf" --once
	fi
	/usr/bin/time -f '%e %U %S %M' -o "$out" "$@" >"$tmp/run.out" 2>"$tmp/run.err" || {
		echo "crawl-bench: $* failed:" >&2
		tail -5 "$tmp/run.err" >&2
		exit 1
	}
	awk -v n="$pages" '{ printf "%.0f %.3f %d %.2f\n", n / ($1 > 0 ? $1 : 0.01), ($2 + $3) * 1000 / n, $4, $1 }' "$out"
}

# Median (by pages/s) of $repeat runs.
median() {
	i=0
	: >"$tmp/runs"
	while [ $i -lt "$repeat" ]; do
		measure "$@" >>"$tmp/runs"
		i=$((i + 1))
	done
	sort -n "$tmp/runs" | awk -v k=$(((repeat + 1) / 2)) 'NR == k'
}

echo "| pages | tool | pages/s | CPU ms/page | peak RSS MiB | wall s |"
echo "|---:|---|---:|---:|---:|---:|"
for pages in "$@"; do
	head -n "$pages" "$tmp/urls-all.txt" >"$tmp/urls.txt"
	awk '{ printf "url = \"%s\"\noutput = \"/dev/null\"\n", $0 }' "$tmp/urls.txt" >"$tmp/curl.cfg"
	cat >"$tmp/pw.conf" <<EOF
[redis]
url = unix://$tmp/redis.sock

[daemon]
state-dir = $tmp/state
admin-listen = off
log-level = warn

[crawl]
per-host-delay = 0s
concurrency = $conc
max-connections-per-host = $conc

[source "bench"]
url = $base/p/{0..$((pages - 1))}
max-pages = $pages
interval = 1h
EOF
	for tool in engine engine+extract pricewatchd curl; do
		case $tool in
		engine) r=$(median "$build/bench/crawl-bench" --concurrency "$conc" "$tmp/urls.txt") ;;
		engine+extract) r=$(median "$build/bench/crawl-bench" --concurrency "$conc" --extract "$tmp/urls.txt") ;;
		pricewatchd) r=$(median daemon) ;;
		curl) r=$(median curl --silent --show-error --fail --compressed --parallel --parallel-max "$conc" \
		    --parallel-immediate -K "$tmp/curl.cfg") ;;
		esac
		echo "$r" | awk -v p="$pages" -v t="$tool" '{ printf "| %d | %s | %d | %.3f | %.1f | %.2f |\n", p, t, $1, $2, $3 / 1024, $4 }'
	done
done
