#!/usr/bin/env bash
# Draws server CPU per operation by peer from a summary of scripts/bench (the peer suite's
# summary-*.md): bench/chart.sh SUMMARY.md OUT.svg   (needs gnuplot)
set -euo pipefail
summary="$1"; out="$2"
data="${out%.*}.dat"
awk -F'|' '
  function v(name,  i) { i = col[sec, name]; if (!i) return "-"; x = $i; gsub(/ /, "", x); return x }
  /^## Echo/ {sec="echo"} /^## HTTP/ {sec="http"} /^## Idle/ {sec="idle"} /^## Spawn/ {sec="spawn"}
  # columns are found by their headers: the echo table has one per connection count run
  $2 ~ /peer|server/ { for (i = 3; i <= NF; i++) { c = $i; gsub(/^ +| +$/, "", c); col[sec, c] = i }; next }
  $3 ~ /---/ || $2 !~ /[a-z]/ { next }
  sec=="echo" { gsub(/ /,"",$2); e100[$2]=v("srv µs/rt @100"); e1000[$2]=v("srv µs/rt @1000"); order[++n]=$2 }
  sec=="http" { gsub(/ /,"",$2); h[$2]=v("srv µs/req"); horder[++m]=$2 }
  END {
    print "# peer echo@100 echo@1000 http"
    for (i=1;i<=n;i++) printf "%s %s %s -\n", order[i], e100[order[i]], e1000[order[i]]
    for (i=1;i<=m;i++) printf "%s - - %s\n", horder[i], h[horder[i]]
  }' "$summary" > "$data"
if [ "$(wc -l < "$data")" -le 1 ]; then echo "chart: no echo or HTTP figures in $summary, no chart"; exit 0; fi
gnuplot <<GP
set terminal svg size 1000,520 dynamic background rgb "white" font "sans,12"
set termoption noenhanced
set output "$out"
set title "Server CPU time per operation in microseconds (lower is better; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set datafile missing "-"
set logscale y
set yrange [1:100]
set xtics rotate by -35 scale 0
set bmargin 6
set grid ytics
set key top left
plot "$data" using 2:xtic(1) title "echo round trip, 100 conns", "" using 3 title "echo round trip, 1000 conns", "" using 4 title "HTTP request (wrk, 100 conns)"
GP
echo "chart: $out"
