#!/bin/bash
# The app's CPU use while idle: starts `hashlens FOLDER` on the X display $DISPLAY (e.g. `Xvfb :77 &` and
# DISPLAY=:77), waits 40 s for it to open and index the folder, then counts its CPU ticks over 30 s and
# prints the busiest threads and the share of one core. Usage: benches/idle_cpu.sh BINARY [FOLDER]
# (without FOLDER: the welcome screen). Issue 22's bar: about 0 % once a folder is open.
set -u
BIN=$1; DIR=${2:-}
$BIN $DIR >/tmp/idle-app.log 2>&1 &
PID=$!
sleep 40
declare -A before
for t in /proc/$PID/task/*; do before[$(basename "$t")]=$(awk '{print $14+$15}' "$t/stat"); done
t1=$(awk '{print $14+$15}' /proc/$PID/stat)
sleep 30
t2=$(awk '{print $14+$15}' /proc/$PID/stat)
for t in /proc/$PID/task/*; do
  id=$(basename "$t"); n=$(awk '{print $14+$15}' "$t/stat")
  echo "$(cat "$t/comm") $((n - ${before[$id]:-0}))"
done | sort -k2 -n -r | head -4
kill $PID
python3 -c "print('cpu %% of one core over 30 s: %.1f' % (($t2-$t1)*100/30/$(getconf CLK_TCK)))"
