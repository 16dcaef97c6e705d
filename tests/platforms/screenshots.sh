#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png, captions in docs/screenshots.md) in the
# real Wireshark: builds the plugin, installs it with plugin/install.sh into the personal plugin
# folder of an unprivileged user (dcomauth-shots, created if missing: as root Wireshark ignores
# personal folders), opens tests/captures/seed-winpe.pcapng as that user under Xvfb and drives
# the GUI with xdotool:
#   packet-list.png     the packet list filtered on our three findings
#   packet-details.png  frame 12 (the identity change) with the DCOM Authentication Tracker subtree
#   expert-info.png     Analyze > Expert Information, our three entries expanded
#   statistics.png      Statistics > DCOM Authentication Tracker
#
#   tests/platforms/screenshots.sh              # writes docs/screenshots/*.png
#   DCOMAUTH_SHOTS_OUT=dir tests/platforms/screenshots.sh   # writes them elsewhere
#   DCOMAUTH_SO=path/libdcomauth.so ...         # take this build instead of cargo build --release
#
# On demand, not in CI. Needs root (apt, useradd, running Wireshark as that user); installs
# wireshark-qt, xvfb, xdotool and imagemagick if missing. Rewrites that user's Wireshark profile
# every run; leaves the plugin installed in its personal folder. Stops Xvfb and Wireshark on exit,
# whatever happens. The keystrokes and crops fit Debian 12's Wireshark 4.0 and this capture.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$here"
out="${DCOMAUTH_SHOTS_OUT:-$here/docs/screenshots}"
user=dcomauth-shots
capture_name=seed-winpe.pcapng
filter='dcomauth.identity_change || dcomauth.fault_after_change || dcomauth.abort_after_change'
change_frame=12 # the frame whose expert info says the identity changed

[ "$(id -u)" -eq 0 ] || { echo "screenshots: run as root (it creates and runs as user $user)" >&2; exit 1; }
say() { echo "screenshots: $*" >&2; }
started=$SECONDS

packages=(wireshark-qt xvfb xdotool imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -n "${DCOMAUTH_SO:-}" ]; then
  so="$DCOMAUTH_SO"
else
  source plugin/prereqs.sh
  cargo build --release --locked -j1 -p dcomauth
  so="${CARGO_TARGET_DIR:-target}/release/libdcomauth.so"
fi

if ! id "$user" >/dev/null 2>&1; then
  say "creating user $user"
  useradd --system --create-home --home-dir "/var/lib/$user" --shell /usr/sbin/nologin "$user"
fi
home="$(getent passwd "$user" | cut -d: -f6)"
global="$(plugin/install.sh --print-dest)/libdcomauth.so"
if [ -e "$global" ]; then
  # Wireshark would open a warning dialog about a plugin found in two folders over the shots.
  say "$global is installed globally; remove it first (plugin/uninstall.sh)"
  exit 1
fi

# Everything the user reads, in a folder it can read even when the checkout is under /root.
tmp="$(mktemp -d /tmp/dcomauth-shots.XXXXXX)"
xvfb_pid=""
ws_pid=""
cleanup() {
  [ -z "$ws_pid" ] || { kill "$ws_pid" 2>/dev/null && wait "$ws_pid" 2>/dev/null; } || true
  [ -z "$xvfb_pid" ] || { kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null; } || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/repo/plugin" "$tmp/repo/tests/captures"
cp plugin/install.sh "$tmp/repo/plugin/"
cp "tests/captures/$capture_name" "$tmp/repo/tests/captures/"
cp "$so" "$tmp/libdcomauth.so"
chmod -R a+rX "$tmp"
capture="$tmp/repo/tests/captures/$capture_name"

as_user() {
  setpriv --reuid="$user" --regid="$user" --init-groups -- \
    env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 XDG_RUNTIME_DIR="$tmp/runtime" ${DISPLAY:+DISPLAY=$DISPLAY} "$@"
}
mkdir -m 0700 "$tmp/runtime"
chown "$user:" "$tmp/runtime"

# install.sh as the user: the personal folder of tshark -G folders, checked with tshark -G plugins.
as_user env DCOMAUTH_SO="$tmp/libdcomauth.so" "$tmp/repo/plugin/install.sh" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; exit 1; }
grep '^dcomauth: ' "$tmp/install.log" >&2

# A fresh profile: window 1400x900 at 0,0, no bytes pane, a short packet list, and the columns
# that tell the story (identity, and the last expert message of the frame: ours, as post-dissector).
config="$(as_user tshark -G folders | awk -F'\t' '/^Personal configuration:/ {print $2}')"
as_user rm -rf "$config"
as_user mkdir -p "$config"
as_user tee "$config/recent_common" >/dev/null <<'EOF'
gui.geometry_main_x: 0
gui.geometry_main_y: 0
gui.geometry_main_width: 1400
gui.geometry_main_height: 900
gui.geometry_main_maximized: FALSE
gui.last_used_profile: Default
privs.warn_if_elevated: FALSE
sys.warn_if_no_capture: FALSE
EOF
as_user tee "$config/recent" >/dev/null <<'EOF'
gui.byte_view_show: FALSE
gui.packet_diagram_show: FALSE
gui.geometry_main_upper_pane: 170
column.width:
        %m, 55,
        %s, 90,
        %d, 90,
        "%Cus:dcomauth.identity", 150,
        "%Cus:_ws.expert.message", 1000
EOF
as_user tee "$config/preferences" >/dev/null <<'EOF'
gui.column.format: "No.", "%m", "Source", "%s", "Destination", "%d", "Identity", "%Cus:dcomauth.identity:0:R", "dcomauth finding", "%Cus:_ws.expert.message:-1:R"
gui.ask_unsaved: FALSE
EOF

Xvfb -displayfd 3 -screen 0 1600x1000x24 -nolisten tcp >"$tmp/xvfb.log" 2>&1 3>"$tmp/display" &
xvfb_pid=$!
for _ in $(seq 50); do [ -s "$tmp/display" ] && break; sleep 0.2; done
[ -s "$tmp/display" ] || { cat "$tmp/xvfb.log" >&2; say "Xvfb did not start"; exit 1; }
DISPLAY=":$(cat "$tmp/display")"
export DISPLAY

# Waits for a window whose name matches $1 and prints its id.
window() {
  local id
  for _ in $(seq 100); do
    id="$(xdotool search --onlyvisible --name "$1" 2>/dev/null | head -1)" || true
    [ -n "$id" ] && { echo "$id"; return; }
    sleep 0.2
  done
  say "no window named '$1' appeared"
  cat "$tmp/wireshark.log" >&2
  exit 1
}
keys() {
  xdotool windowfocus --sync "$1"
  shift
  for k in "$@"; do
    xdotool key "$k"
    sleep 0.2
  done
  sleep 1
}
# Writes the PNG without timestamps, so an unchanged screen gives an unchanged file.
shot() { # shot NAME WINDOW [CROP]
  mkdir -p "$out"
  import -window "$2" ${3:+-crop "$3"} +repage -strip "$out/$1"
  say "wrote $out/$1 ($(identify -format '%wx%h' "$out/$1"))"
}

# Not through as_user: $! must be Wireshark itself (setpriv and env exec it) for the cleanup.
setpriv --reuid="$user" --regid="$user" --init-groups -- \
  env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 XDG_RUNTIME_DIR="$tmp/runtime" DISPLAY="$DISPLAY" \
  wireshark -r "$capture" -Y "$filter" -g "$change_frame" >"$tmp/wireshark.log" 2>&1 &
ws_pid=$!
main="$(window "^$capture_name\$")"
sleep 4 # the file is read and filtered after the window shows

# (a) Menu, filter bar and the eight filtered packets.
shot packet-list.png "$main" 1400x260+0+0
# (b) A click on the empty part of the details pane focuses it (where the keyboard focus starts
# varies); the tracker is the last top-level item, shift+Right expands it and its subtrees.
xdotool mousemove --window "$main" 700 500 click 1
keys "$main" End shift+Right
shot packet-details.png "$main" 1400x566+0+0
# (c) Analyze > Expert Information is the menu's last item. Expand our three groups (2 aborts,
# 4 faults, 2 changes) and select frame 12.
keys "$main" alt+a Up Return
expert="$(window 'Expert Information')"
xdotool windowsize "$expert" 960 380 windowmove "$expert" 0 0
sleep 1
keys "$expert" Home Right Down Down Down Right Down Down Down Down Down Right Down
shot expert-info.png "$expert"
keys "$expert" Escape
# (d) Statistics > DCOM Authentication Tracker: the first item of the bottom group, below
# Capture File Properties, ..., Service Response Time.
keys "$main" alt+s Down Down Down Down Down Down Down Down Return
stats="$(window 'Wireshark · DCOM Authentication Tracker')"
xdotool windowsize "$stats" 1600 230 windowmove "$stats" 0 0
sleep 1.5
# The first column is sized to its numbers and cuts its title ("Stream"): drag its right edge.
xdotool mousemove --window "$stats" 70 21 mousedown 1 mousemove --window "$stats" 100 21 mouseup 1
sleep 0.5
shot statistics.png "$stats"
keys "$stats" Escape

keys "$main" ctrl+q
for _ in $(seq 50); do kill -0 "$ws_pid" 2>/dev/null || break; sleep 0.2; done
wait "$ws_pid" 2>/dev/null || true
ws_pid=""
say "done in $((SECONDS - started)) s"
