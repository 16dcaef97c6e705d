/* The epan headers the plugin uses; bindgen reads these and only these. */
#include <ws_version.h>
#include <epan/packet.h>
#include <epan/proto.h>
#include <epan/expert.h>
#include <epan/tap.h>
#include <epan/stat_tap_ui.h>
/* plugin_describe's WS_PLUGIN_DESC_* flags; 4.0 neither has the header nor reads the symbol. */
#if WIRESHARK_VERSION_MAJOR > 4 || (WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR >= 2)
#include <wsutil/plugins.h>
#endif
