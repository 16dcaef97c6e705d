//! Fault/reject status codes and the small C706/MS-RPCE value tables.
//!
//! A fault's `status` is one of three things: an NCA status (0x1c00xxxx/0x1c01xxxx, C706 appendix
//! E), a Win32 error (< 0x10000; Windows servers send those directly, e.g. 5 or 0x721), or an
//! HRESULT passed through (high bit set). Every entry spells out the HRESULT a COM client ends up
//! with: HRESULT_FROM_WIN32 of the Win32 code, the HRESULT itself, or for NCA codes the Win32 code
//! MS-RPCE 3.1.1.5.5 converts them to.
use super::Status;

/// HRESULT_FROM_WIN32 for a Win32 error code (FACILITY_WIN32, severity error).
const fn win32(code: u32) -> u32 {
    0x8007_0000 | (code & 0xffff)
}

// Win32 RPC errors (winerror.h) used as NCA mapping targets.
const ERROR_INVALID_HANDLE: u32 = 6;
const ERROR_OUTOFMEMORY: u32 = 14;
const RPC_S_SERVER_OUT_OF_MEMORY: u32 = 1130;
const RPC_S_UNKNOWN_IF: u32 = 1717;
const RPC_S_SERVER_TOO_BUSY: u32 = 1723;
const RPC_S_CALL_FAILED: u32 = 1726;
const RPC_S_CALL_FAILED_DNE: u32 = 1727;
const RPC_S_PROTOCOL_ERROR: u32 = 1728;
const RPC_S_UNSUPPORTED_TYPE: u32 = 1732;
const RPC_S_INVALID_TAG: u32 = 1733;
const RPC_S_INVALID_BOUND: u32 = 1734;
const RPC_S_PROCNUM_OUT_OF_RANGE: u32 = 1745;
const RPC_S_ZERO_DIVIDE: u32 = 1767;
const RPC_S_ADDRESS_ERROR: u32 = 1768;
const RPC_S_FP_DIV_ZERO: u32 = 1769;
const RPC_S_FP_UNDERFLOW: u32 = 1770;
const RPC_S_FP_OVERFLOW: u32 = 1771;
const RPC_S_CALL_CANCELLED: u32 = 1818;
const RPC_S_COMM_FAILURE: u32 = 1820;
const RPC_S_UNSUPPORTED_AUTHN_LEVEL: u32 = 1821;
const RPC_X_WRONG_PIPE_ORDER: u32 = 1831;
const RPC_X_PIPE_CLOSED: u32 = 1916;
const RPC_X_PIPE_DISCIPLINE_ERROR: u32 = 1917;
const RPC_X_PIPE_EMPTY: u32 = 1918;

/// (code, name, HRESULT a COM client sees).
type Entry = (u32, &'static str, u32);

/// Win32 codes a DCE/RPC fault carries directly. The names of 1, 5, 0x6d8 and 0x6f7 follow
/// Wireshark's reject_status_vals; the rest are winerror.h names.
static WIN32: &[Entry] = &[
    (0x0000_0001, "nca_s_fault_other", win32(1)),
    (0x0000_0005, "nca_s_fault_access_denied", win32(5)),
    (0x0000_0006, "ERROR_INVALID_HANDLE", win32(6)),
    (0x0000_0008, "ERROR_NOT_ENOUGH_MEMORY", win32(8)),
    (0x0000_000e, "ERROR_OUTOFMEMORY", win32(14)),
    (0x0000_0057, "ERROR_INVALID_PARAMETER", win32(0x57)),
    (0x0000_046a, "RPC_S_SERVER_OUT_OF_MEMORY", win32(0x46a)),
    (0x0000_06a6, "RPC_S_INVALID_BINDING", win32(0x6a6)),
    (0x0000_06b5, "RPC_S_UNKNOWN_IF", win32(0x6b5)),
    (0x0000_06ba, "RPC_S_SERVER_UNAVAILABLE", win32(0x6ba)),
    (0x0000_06bb, "RPC_S_SERVER_TOO_BUSY", win32(0x6bb)),
    (0x0000_06be, "RPC_S_CALL_FAILED", win32(0x6be)),
    (0x0000_06bf, "RPC_S_CALL_FAILED_DNE", win32(0x6bf)),
    (0x0000_06c0, "RPC_S_PROTOCOL_ERROR", win32(0x6c0)),
    (0x0000_06c2, "RPC_S_UNSUPPORTED_TRANS_SYN", win32(0x6c2)),
    (0x0000_06c4, "RPC_S_UNSUPPORTED_TYPE", win32(0x6c4)),
    (0x0000_06c5, "RPC_S_INVALID_TAG", win32(0x6c5)),
    (0x0000_06c6, "RPC_S_INVALID_BOUND", win32(0x6c6)),
    (0x0000_06cd, "RPC_S_UNKNOWN_AUTHN_TYPE", win32(0x6cd)),
    (0x0000_06d1, "RPC_S_PROCNUM_OUT_OF_RANGE", win32(0x6d1)),
    (0x0000_06d2, "RPC_S_BINDING_HAS_NO_AUTH", win32(0x6d2)),
    (0x0000_06d3, "RPC_S_UNKNOWN_AUTHN_SERVICE", win32(0x6d3)),
    (0x0000_06d4, "RPC_S_UNKNOWN_AUTHN_LEVEL", win32(0x6d4)),
    (0x0000_06d5, "RPC_S_INVALID_AUTH_IDENTITY", win32(0x6d5)),
    (0x0000_06d6, "RPC_S_UNKNOWN_AUTHZ_SERVICE", win32(0x6d6)),
    (0x0000_06d8, "nca_s_fault_cant_perform", win32(0x6d8)),
    (0x0000_06d9, "EPT_S_NOT_REGISTERED", win32(0x6d9)),
    (0x0000_06e4, "RPC_S_CANNOT_SUPPORT", win32(0x6e4)),
    (0x0000_06e5, "RPC_S_NO_CONTEXT_AVAILABLE", win32(0x6e5)),
    (0x0000_06e6, "RPC_S_INTERNAL_ERROR", win32(0x6e6)),
    (0x0000_06f4, "RPC_X_NULL_REF_POINTER", win32(0x6f4)),
    (0x0000_06f5, "RPC_X_ENUM_VALUE_OUT_OF_RANGE", win32(0x6f5)),
    (0x0000_06f6, "RPC_X_BYTE_COUNT_TOO_SMALL", win32(0x6f6)),
    (0x0000_06f7, "nca_s_fault_ndr", win32(0x6f7)),
    (0x0000_071a, "RPC_S_CALL_CANCELLED", win32(0x71a)),
    (0x0000_071c, "RPC_S_COMM_FAILURE", win32(0x71c)),
    (0x0000_071d, "RPC_S_UNSUPPORTED_AUTHN_LEVEL", win32(0x71d)),
    (0x0000_0721, "nca_s_fault_sec_pkg_error", win32(0x721)),
    (0x0000_0776, "OR_INVALID_OXID", win32(0x776)),
];

/// NCA status codes (C706 appendix E; names as in Wireshark's reject_status_vals), each with the
/// Win32 error MS-RPCE 3.1.1.5.5 converts it to. "Not mapped" codes reach the client unchanged,
/// so their HRESULT column is the code itself.
static NCA: &[Entry] = &[
    (0x1c00_0001, "nca_s_fault_int_div_by_zero", win32(RPC_S_ZERO_DIVIDE)),
    (0x1c00_0002, "nca_s_fault_addr_error", win32(RPC_S_ADDRESS_ERROR)),
    (0x1c00_0003, "nca_s_fault_fp_div_zero", win32(RPC_S_FP_DIV_ZERO)),
    (0x1c00_0004, "nca_s_fault_fp_underflow", win32(RPC_S_FP_UNDERFLOW)),
    (0x1c00_0005, "nca_s_fault_fp_overflow", win32(RPC_S_FP_OVERFLOW)),
    (0x1c00_0006, "nca_s_fault_invalid_tag", win32(RPC_S_INVALID_TAG)),
    (0x1c00_0007, "nca_s_fault_invalid_bound", win32(RPC_S_INVALID_BOUND)),
    (0x1c00_0008, "nca_rpc_version_mismatch", win32(RPC_S_PROTOCOL_ERROR)),
    (0x1c00_0009, "nca_unspec_reject", win32(RPC_S_CALL_FAILED)),
    (0x1c00_000a, "nca_s_bad_actid", win32(RPC_S_CALL_FAILED_DNE)),
    (0x1c00_000b, "nca_who_are_you_failed", win32(RPC_S_CALL_FAILED)),
    (0x1c00_000c, "nca_manager_not_entered", win32(RPC_S_CALL_FAILED_DNE)),
    (0x1c00_000d, "nca_s_fault_cancel", win32(RPC_S_CALL_CANCELLED)),
    (0x1c00_000e, "nca_s_fault_ill_inst", win32(RPC_S_ADDRESS_ERROR)),
    (0x1c00_000f, "nca_s_fault_fp_error", win32(RPC_S_FP_OVERFLOW)),
    (0x1c00_0010, "nca_s_fault_int_overflow", win32(RPC_S_ADDRESS_ERROR)),
    (0x1c00_0012, "nca_s_fault_unspec", win32(RPC_S_CALL_FAILED)),
    // Not mapped: the client sees the NCA code itself.
    (0x1c00_0013, "nca_s_fault_remote_comm_failure", 0x1c00_0013),
    (0x1c00_0014, "nca_s_fault_pipe_empty", win32(RPC_X_PIPE_EMPTY)),
    (0x1c00_0015, "nca_s_fault_pipe_closed", win32(RPC_X_PIPE_CLOSED)),
    (0x1c00_0016, "nca_s_fault_pipe_order", win32(RPC_X_WRONG_PIPE_ORDER)),
    (0x1c00_0017, "nca_s_fault_pipe_discipline", win32(RPC_X_PIPE_DISCIPLINE_ERROR)),
    (0x1c00_0018, "nca_s_fault_pipe_comm_error", win32(RPC_S_COMM_FAILURE)),
    // The rest of the MS-RPCE table, past the rows re-checked for this plugin.
    (0x1c00_0019, "nca_s_fault_pipe_memory", win32(ERROR_OUTOFMEMORY)),
    (0x1c00_001a, "nca_s_fault_context_mismatch", win32(ERROR_INVALID_HANDLE)),
    (0x1c00_001b, "nca_s_fault_remote_no_memory", win32(RPC_S_SERVER_OUT_OF_MEMORY)),
    (0x1c00_001c, "nca_invalid_pres_context_id", win32(RPC_S_PROTOCOL_ERROR)),
    (0x1c00_001d, "nca_unsupported_authn_level", win32(RPC_S_UNSUPPORTED_AUTHN_LEVEL)),
    (0x1c00_001f, "nca_invalid_checksum", win32(RPC_S_CALL_FAILED_DNE)),
    (0x1c00_0020, "nca_invalid_crc", win32(RPC_S_CALL_FAILED_DNE)),
    // No Win32 conversion is documented for these: the client sees the NCA code itself.
    (0x1c00_0021, "ncs_s_fault_user_defined", 0x1c00_0021),
    (0x1c00_0022, "nca_s_fault_tx_open_failed", 0x1c00_0022),
    (0x1c00_0023, "nca_s_fault_codeset_conv_error", 0x1c00_0023),
    (0x1c00_0024, "nca_s_fault_object_not_found", 0x1c00_0024),
    (0x1c00_0025, "nca_s_fault_no_client_stub", 0x1c00_0025),
    (0x1c01_0001, "nca_s_comm_failure", win32(RPC_S_COMM_FAILURE)),
    (0x1c01_0002, "nca_op_rng_error", win32(RPC_S_PROCNUM_OUT_OF_RANGE)),
    (0x1c01_0003, "nca_unk_if", win32(RPC_S_UNKNOWN_IF)),
    // Not mapped: the client sees the NCA code itself.
    (0x1c01_0006, "nca_wrong_boot_time", 0x1c01_0006),
    (0x1c01_0009, "nca_s_you_crashed", win32(RPC_S_CALL_FAILED)),
    (0x1c01_000b, "nca_proto_error", win32(RPC_S_PROTOCOL_ERROR)),
    (0x1c01_0013, "nca_out_args_too_big", win32(RPC_S_SERVER_OUT_OF_MEMORY)),
    (0x1c01_0014, "nca_server_too_busy", win32(RPC_S_SERVER_TOO_BUSY)),
    (0x1c01_0017, "nca_unsupported_type", win32(RPC_S_UNSUPPORTED_TYPE)),
];

/// HRESULTs seen in DCOM/WMI faults and ORPC results (winerror.h, MS-WMI 2.2.11).
static HRESULTS: &[(u32, &str)] = &[
    (0x8000_4001, "E_NOTIMPL"),
    (0x8000_4002, "E_NOINTERFACE"),
    (0x8000_4003, "E_POINTER"),
    (0x8000_4004, "E_ABORT"),
    (0x8000_4005, "E_FAIL"),
    (0x8000_ffff, "E_UNEXPECTED"),
    (0x8001_0105, "RPC_E_SERVERFAULT"),
    (0x8001_0108, "RPC_E_DISCONNECTED"),
    (0x8001_0113, "RPC_E_INVALID_IPID"),
    (0x8001_0114, "RPC_E_INVALID_OBJECT"),
    (0x8001_011a, "RPC_E_NO_GOOD_SECURITY_PACKAGES"),
    (0x8001_011b, "RPC_E_ACCESS_DENIED"),
    (0x8001_011c, "RPC_E_REMOTE_DISABLED"),
    (0x8001_011d, "RPC_E_INVALID_OBJREF"),
    (0x8001_011f, "RPC_E_TIMEOUT"),
    (0x8002_0003, "DISP_E_MEMBERNOTFOUND"),
    (0x8002_0006, "DISP_E_UNKNOWNNAME"),
    (0x8002_000e, "DISP_E_BADPARAMCOUNT"),
    (0x8004_1001, "WBEM_E_FAILED"),
    (0x8004_1002, "WBEM_E_NOT_FOUND"),
    (0x8004_1003, "WBEM_E_ACCESS_DENIED"),
    (0x8004_1008, "WBEM_E_INVALID_PARAMETER"),
    (0x8004_100e, "WBEM_E_INVALID_NAMESPACE"),
    (0x8004_1010, "WBEM_E_INVALID_CLASS"),
    (0x8004_1017, "WBEM_E_INVALID_QUERY"),
    (0x8007_0005, "E_ACCESSDENIED"),
    (0x8007_000e, "E_OUTOFMEMORY"),
    (0x8007_0057, "E_INVALIDARG"),
];

/// A fault/status code as users know it, with the HRESULT a COM client sees for it.
pub(super) fn status(code: u32) -> Option<Status> {
    let entry = |&(c, name, hresult): &Entry| (c == code).then_some(Status { name, hresult });
    if let Some(s) = WIN32.iter().chain(NCA).find_map(entry) {
        return Some(s);
    }
    if let Some(&(_, name)) = HRESULTS.iter().find(|(c, _)| *c == code) {
        return Some(Status { name, hresult: code });
    }
    // HRESULT_FROM_WIN32 of a known Win32 error: name it after the Win32 code.
    if code & 0xffff_0000 == 0x8007_0000 {
        let inner = code & 0xffff;
        return WIN32.iter().find(|(c, _, _)| *c == inner).map(|&(_, name, _)| Status { name, hresult: code });
    }
    None
}

/// bind_nak reject reasons (C706 12.6.4.7 plus MS-RPCE 2.2.2.5).
pub(super) fn bind_nak_reason(reason: u16) -> Option<&'static str> {
    Some(match reason {
        0 => "Reason not specified",
        1 => "Temporary congestion",
        2 => "Local limit exceeded",
        3 => "Called paddr unknown",
        4 => "Protocol version not supported",
        5 => "Default context not supported",
        6 => "User data not readable",
        7 => "No PSAP available",
        8 => "Authentication type not recognized",
        9 => "Invalid checksum",
        _ => return None,
    })
}

/// p_cont_def_result_t (C706 12.6.3.1; 3 is MS-RPCE 2.2.2.4's negotiate_ack).
pub(super) fn context_result(result: u16) -> Option<&'static str> {
    Some(match result {
        0 => "Acceptance",
        1 => "User rejection",
        2 => "Provider rejection",
        3 => "Negotiate ACK",
        _ => return None,
    })
}

/// p_provider_reason_t (C706 12.6.3.1).
pub(super) fn provider_reason(reason: u16) -> Option<&'static str> {
    Some(match reason {
        0 => "Reason not specified",
        1 => "Abstract syntax not supported",
        2 => "Proposed transfer syntaxes not supported",
        3 => "Local limit exceeded",
        _ => return None,
    })
}

/// sec_trailer auth_level (MS-RPCE 2.2.1.1.8; 0 is RPC_C_AUTHN_LEVEL_DEFAULT).
pub(super) fn auth_level_name(level: u8) -> Option<&'static str> {
    Some(match level {
        0 => "Default",
        1 => "None",
        2 => "Connect",
        3 => "Call",
        4 => "Packet",
        5 => "Packet integrity",
        6 => "Packet privacy",
        _ => return None,
    })
}

/// sec_trailer auth_type (MS-RPCE 2.2.1.1.7).
pub(super) fn auth_type_name(auth_type: u8) -> Option<&'static str> {
    Some(match auth_type {
        0 => "None",
        1 => "Kerberos 5 (DCE private)",
        2 => "DCE public",
        9 => "SPNEGO",
        10 => "NTLMSSP",
        14 => "SCHANNEL",
        16 => "Kerberos",
        17 => "DPA",
        18 => "MSN",
        21 => "Digest",
        68 => "NETLOGON secure channel",
        100 => "MSMQ",
        0xff => "Default",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_study_faults_have_names_and_hresults() {
        assert_eq!(status(0x721), Some(Status { name: "nca_s_fault_sec_pkg_error", hresult: 0x8007_0721 }));
        assert_eq!(status(0x5), Some(Status { name: "nca_s_fault_access_denied", hresult: 0x8007_0005 }));
        assert_eq!(status(0x6be).map(|s| s.hresult), Some(0x8007_06be));
        assert_eq!(status(0x6bf).map(|s| s.name), Some("RPC_S_CALL_FAILED_DNE"));
    }

    #[test]
    fn nca_codes_map_to_the_win32_error_ms_rpce_names() {
        assert_eq!(status(0x1c01_0002), Some(Status { name: "nca_op_rng_error", hresult: 0x8007_06d1 }));
        assert_eq!(status(0x1c01_0003).map(|s| s.hresult), Some(0x8007_06b5));
        assert_eq!(status(0x1c01_000b).map(|s| s.hresult), Some(0x8007_06c0));
        assert_eq!(status(0x1c00_001a).map(|s| s.name), Some("nca_s_fault_context_mismatch"));
        assert_eq!(status(0x1c00_001c).map(|s| s.hresult), Some(0x8007_06c0));
        assert_eq!(status(0x1c00_001d).map(|s| s.hresult), Some(0x8007_071d));
        assert_eq!(status(0x1c01_0014).map(|s| s.hresult), Some(0x8007_06bb));
        // Not mapped: the code itself reaches the client.
        assert_eq!(status(0x1c01_0006).map(|s| s.hresult), Some(0x1c01_0006));
    }

    #[test]
    fn hresults_pass_through_and_win32_hresults_are_named() {
        assert_eq!(status(0x8000_4002), Some(Status { name: "E_NOINTERFACE", hresult: 0x8000_4002 }));
        assert_eq!(status(0x8001_011b).map(|s| s.name), Some("RPC_E_ACCESS_DENIED"));
        assert_eq!(status(0x8007_0005).map(|s| s.name), Some("E_ACCESSDENIED"));
        assert_eq!(status(0x8007_06ba), Some(Status { name: "RPC_S_SERVER_UNAVAILABLE", hresult: 0x8007_06ba }));
        assert_eq!(status(0x1234_5678), None);
        assert_eq!(status(0), None);
    }

    #[test]
    fn every_entry_has_a_nonzero_hresult_and_a_unique_code() {
        let all: Vec<&Entry> = WIN32.iter().chain(NCA).collect();
        for (i, (code, name, hr)) in all.iter().enumerate() {
            assert_ne!(*hr, 0, "{name}");
            assert!(all.iter().skip(i + 1).all(|(c, _, _)| c != code), "{code:#x} twice");
            // Win32 entries follow HRESULT_FROM_WIN32.
            if *code < 0x1_0000 {
                assert_eq!(*hr, 0x8007_0000 | code, "{name}");
            }
        }
    }

    #[test]
    fn small_tables() {
        assert_eq!(bind_nak_reason(8), Some("Authentication type not recognized"));
        assert_eq!(context_result(2), Some("Provider rejection"));
        assert_eq!(provider_reason(2), Some("Proposed transfer syntaxes not supported"));
        assert_eq!(auth_level_name(6), Some("Packet privacy"));
        assert_eq!(auth_type_name(9), Some("SPNEGO"));
        assert_eq!(auth_type_name(10), Some("NTLMSSP"));
        assert_eq!(auth_type_name(200), None);
    }
}
