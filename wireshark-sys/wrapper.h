/* The epan headers the plugin uses; bindgen reads these and only these. */
#include <ws_version.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/tap.h>
#include <epan/stat_tap_ui.h>
