#!/usr/bin/env bash
# Takes docs/screenshot.png, the README's picture: `dsim gui` on cap/raft-partition under
# Xvfb, driven with xdotool (jump to the partition at 10 s, zoom in, select the next message)
# and captured with ImageMagick's `import`. Needs xvfb, xdotool and imagemagick (Debian) and
# a built `dsim` (cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/debug/dsim}
xvfb-run -a -s "-screen 0 1400x900x24" bash -euo pipefail -c '
    "$1" gui scenarios/cap/raft-partition.toml 2>/dev/null &
    app=$!
    window=$(xdotool search --sync --name "dsim explorer" | head -1)
    sleep 6
    xdotool windowmove "$window" 0 0
    xdotool windowfocus --sync "$window"
    # The "Jump to" field in the toolbar, then the time and Enter.
    xdotool mousemove 553 35 click 1
    sleep 0.5
    xdotool type --delay 60 "10s"
    xdotool key Return
    sleep 1
    # "Zoom in" (each click halves the window around the cursor), then N: the next message.
    for _ in 1 2 3 4 5 6 7 8; do xdotool mousemove 311 89 click 1; sleep 0.8; done
    xdotool mousemove 600 700 click 1
    sleep 0.5
    xdotool key n
    sleep 0.7
    xdotool mousemove 1390 890
    sleep 1.5
    import -window root docs/screenshot.png
    kill "$app"
' _ "$BIN"
echo "wrote docs/screenshot.png"
