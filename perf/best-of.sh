# Sourced by the perf scripts that keep the best of several rounds: the caller declares `declare -A best`.
# keep_best KEY VALUE: best[KEY] becomes VALUE when it is larger (or the first).
keep_best() {
  if [ -z "${best[$1]:-}" ] || [ "$2" -gt "${best[$1]}" ]; then best[$1]=$2; fi
}

# print_best COLUMN BASELINE "CONFIG..." "ITEM...": a table of best["CONFIG ITEM"] in MB/s, each with its ratio to
# best["BASELINE ITEM"], measured in the same run.
print_best() {
  local column=$1 baseline=$2 c i v o
  printf '%-12s %-8s %8s %8s\n' config "$column" MB/s "vs $baseline"
  for c in $3; do
    for i in $4; do
      v=${best["$c $i"]:-0}; o=${best["$baseline $i"]:-1}
      printf '%-12s %-8s %8s %8s\n' "$c" "$i" "$v" "$(awk -v a="$v" -v b="$o" 'BEGIN { printf "%.2f\n", a / b }')"
    done
  done
}
