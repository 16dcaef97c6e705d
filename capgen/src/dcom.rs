//! NDR stubs of the DCOM calls in the scenarios (MS-DCOM 2.2.13, 3.1.1.5.6; MS-WMI 3.1.4).
use crate::rpc::{Drep, Guid, Ndr};

/// IRemUnknown(2) opnums.
pub const OP_REM_QUERY_INTERFACE: u16 = 3;
pub const OP_REM_ADD_REF: u16 = 4;
pub const OP_REM_RELEASE: u16 = 5;
/// IEnumWbemClassObject opnums.
pub const OP_ENUM_RESET: u16 = 3;
pub const OP_ENUM_NEXT: u16 = 4;
pub const OP_ENUM_CLONE: u16 = 6;
/// IWbemFetchSmartEnum::GetSmartEnum.
pub const OP_GET_SMART_ENUM: u16 = 3;

/// ORPCTHIS: COM version 5.7, no flags, causality id, no extensions.
pub fn orpcthis(w: &mut Ndr, cid: &Guid) {
    w.a16(5).u16(7).a32(0).u32(0).guid(cid).a32(0);
}

/// ORPCTHAT: no flags, no extensions.
pub fn orpcthat(w: &mut Ndr) {
    w.a32(0).u32(0);
}

/// RemQueryInterface request: ORPCTHIS, REFIPID, cRefs, cIids, conformant IID array.
///
/// `iids` is a top-level `[in, size_is(cIids)]` pointer, a reference pointer, so the wire has
/// no referent id: the conformant max count follows cIids (after 2 bytes of alignment).
pub fn rem_query_interface_req(drep: Drep, cid: &Guid, ipid: &Guid, refs: u32, iids: &[Guid]) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthis(&mut w, cid);
    w.guid(ipid).a32(refs).a16(iids.len() as u16).a32(iids.len() as u32);
    for iid in iids {
        w.guid(iid);
    }
    w.finish()
}

/// RemQueryInterface response: ORPCTHAT, pointer to REMQIRESULT[] (hResult + STDOBJREF), HRESULT.
pub fn rem_query_interface_resp(drep: Drep, results: &[(u32, Guid)], oxid: u64, oid: u64) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthat(&mut w);
    w.a32(0x0002_0000).a32(results.len() as u32);
    for (hr, ipid) in results {
        // STDOBJREF: flags, cPublicRefs, OXID, OID, IPID.
        w.align(8).u32(*hr).align(8).u32(0).u32(5).a64(oxid).a64(oid).guid(ipid);
    }
    w.a32(0);
    w.finish()
}

/// RemRelease request: ORPCTHIS, cInterfaceRefs, conformant REMINTERFACEREF array.
pub fn rem_release_req(drep: Drep, cid: &Guid, refs: &[(Guid, u32, u32)]) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthis(&mut w, cid);
    w.a16(refs.len() as u16).a32(refs.len() as u32);
    for (ipid, public, private) in refs {
        w.guid(ipid).a32(*public).a32(*private);
    }
    w.finish()
}

/// A response that is ORPCTHAT + HRESULT (RemRelease, Reset, ...).
pub fn orpc_hresult_resp(drep: Drep, hr: u32) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthat(&mut w);
    w.a32(hr);
    w.finish()
}

/// A request that is ORPCTHIS followed by `params` (already NDR, 4-aligned after ORPCTHIS).
pub fn orpc_req(drep: Drep, cid: &Guid, params: &[u32]) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthis(&mut w, cid);
    for p in params {
        w.a32(*p);
    }
    w.finish()
}

/// A response that is ORPCTHAT, the given 32-bit out values, then HRESULT.
pub fn orpc_resp(drep: Drep, outs: &[u32], hr: u32) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthat(&mut w);
    for o in outs {
        w.a32(*o);
    }
    w.a32(hr);
    w.finish()
}

/// OBJREF_STANDARD for interface `iid` of the object `ipid`, exported by `server` (an address
/// such as "10.0.0.20") over ncacn_ip_tcp, NTLMSSP security binding (MS-DCOM 2.2.18). Always
/// little-endian: it travels as an opaque byte array whatever the PDU's drep.
pub fn objref_standard(iid: &Guid, ipid: &Guid, oxid: u64, oid: u64, server: &str) -> Vec<u8> {
    let mut o = Ndr::new(Drep::Little);
    o.u32(0x574f_454d).u32(1).guid(iid);
    o.u32(0).u32(5).u64(oxid).u64(oid).guid(ipid);
    let mut strings: Vec<u16> = vec![0x0007];
    strings.extend(server.encode_utf16());
    strings.extend([0, 0]);
    let security_offset = strings.len() as u16;
    strings.extend([0x000a, 0xffff, 0, 0]);
    o.u16(strings.len() as u16).u16(security_offset);
    for s in strings {
        o.u16(s);
    }
    o.finish()
}

/// A response carrying one interface pointer: ORPCTHAT, unique pointer to MInterfacePointer
/// (ulCntData + conformant byte array holding `objref`), HRESULT S_OK.
pub fn interface_pointer_resp(drep: Drep, objref: &[u8]) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthat(&mut w);
    w.a32(0x0002_0000).a32(objref.len() as u32).a32(objref.len() as u32).bytes(objref);
    w.a32(0);
    w.finish()
}

/// IEnumWbemClassObject::Next request: lTimeout, uCount.
pub fn enum_next_req(drep: Drep, cid: &Guid, timeout: u32, count: u32) -> Vec<u8> {
    orpc_req(drep, cid, &[timeout, count])
}

/// A response of `len` bytes: ORPCTHAT, opaque conformant byte array, HRESULT (bulk data calls).
pub fn orpc_blob_resp(drep: Drep, len: usize, seed: &str) -> Vec<u8> {
    let mut w = Ndr::new(drep);
    orpcthat(&mut w);
    w.a32(0x0002_0000).a32(len as u32).bytes(&crate::pseudo_random(seed, len));
    w.a32(0);
    w.finish()
}
