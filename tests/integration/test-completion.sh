#!/bin/bash
# test-completion.sh: sources data/bash-completion/pricewatch in bash and checks what <Tab> offers for a few
# command lines (COMP_WORDS/COMP_CWORD driven, against the built pricewatch binary).
set -u
shopt -s extglob

top_src=${PW_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
prog=${PW_TOP_BUILDDIR:-.}/pricewatch
tmp=$(mktemp -d /tmp/pw-completion-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

# shellcheck source=../../data/bash-completion/pricewatch
. "$top_src/data/bash-completion/pricewatch"

if [[ $(complete -p pricewatch 2>/dev/null) != "complete -F _pricewatch pricewatch" ]]; then
	echo "FAIL: the script does not register _pricewatch for pricewatch"
	exit 1
fi

# complete_line "LINE": the completions for LINE, whose last word (empty after a space) is being completed.
complete_line()
{
	local -a words
	read -r -a words <<<"$1"
	[[ -z $1 || $1 == *" " ]] && words+=("")
	COMP_WORDS=("$prog" "${words[@]}")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_pricewatch
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect "LINE" WANTED... : every wanted word is offered; "!word" must not be.
expect()
{
	local line=$1 got w
	shift
	got=$(complete_line "$line")
	for w in "$@"; do
		if [[ $w == !* ]]; then
			if grep -qx -- "${w#!}" <<<"$got"; then
				echo "FAIL: '$line<Tab>' offers ${w#!}: $(echo $got)"
				failures=$((failures + 1))
			fi
		elif ! grep -qx -- "$w" <<<"$got"; then
			echo "FAIL: '$line<Tab>' does not offer $w: $(echo $got)"
			failures=$((failures + 1))
		fi
	done
}

cat >"$tmp/pw.conf" <<CONF
[source "shopa"]
url = https://shop-a.example/
[source "market-b"]
url = https://market-b.example/
[notifier "ops-webhook"]
type = webhook
CONF
touch "$tmp/kettle.png" "$tmp/kettle.svg" "$tmp/notes.txt"

expect "" history chart listings status alerts help
expect "h" history help !chart
expect "ch" chart !history
expect "--" --config --redis --json --csv --help --version
expect "chart --" --product --output --since --until --format --size --title --json
expect "chart K1 --format " png svg
expect "chart K1 -o $tmp/k" "$tmp/kettle.png" "$tmp/kettle.svg" "!$tmp/notes.txt"
expect "history K1 --color " auto always never
expect "history --" --since --until --json --csv --color=
expect "-c $tmp/pw.conf listings --source " shopa market-b
expect "--config=$tmp/pw.conf listings --source m" market-b !shopa
expect "-c $tmp/pw.conf notify test " ops-webhook
expect "-c $tmp/pw.conf crawl s" shopa !market-b
expect "-c $tmp/pw.conf --json catalog " import list show remove
expect "alerts " retry
expect "help ch" chart
expect "status --" --json --help

if ((failures > 0)); then
	echo "$failures completion check(s) failed"
	exit 1
fi
echo "completion checks passed"
