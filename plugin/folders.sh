# Where dcomauth goes for the user running this; sourced by plugin/install.sh and plugin/uninstall.sh
# so both always agree.

# The folder Wireshark loads epan plugins from for this user (DCOMAUTH_PLUGIN_DEST overrides it).
plugin_dest() {
  if [ -n "${DCOMAUTH_PLUGIN_DEST:-}" ]; then
    printf '%s\n' "$DCOMAUTH_PLUGIN_DEST"
  elif [ "$(id -u)" -eq 0 ]; then
    # Wireshark ignores personal plugin folders when run as root.
    local global
    global="$(global_plugins)"
    echo "$global/epan"
  else
    local personal
    personal="$(tshark -G folders | awk -F'\t' '/^Personal Plugins:/ {print $2}')"
    [ -n "$personal" ] || { echo "dcomauth: tshark -G folders names no personal plugin folder" >&2; return 1; }
    echo "$personal/epan"
  fi
}

global_plugins() {
  local global
  global="$(pkg-config --variable=plugindir wireshark 2>/dev/null ||
    tshark -G folders | awk -F'\t' '/^Global Plugins:/ {print $2}')"
  [ -n "$global" ] || { echo "dcomauth: neither pkg-config nor tshark names the global plugin folder" >&2; return 1; }
  echo "$global"
}

# Where the batch command goes beside the plugin: /usr/local/bin as root, ~/.local/bin otherwise.
batch_bindir() {
  if [ "$(id -u)" -eq 0 ]; then echo /usr/local/bin; else echo "$HOME/.local/bin"; fi
}
