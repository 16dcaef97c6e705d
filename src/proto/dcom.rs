//! DCOM ORPC stubs (MS-DCOM 2.2, 3.1.1.5): method names of the interfaces the plugin meets, and the
//! IIDs an IRemUnknown(2)::RemQueryInterface request asks for.
use crate::names::interfaces::{
    IID_IACTIVATION, IID_IDISPATCH, IID_IENUMWBEMCLASSOBJECT, IID_IMANAGEDOBJECT, IID_IOBJECTEXPORTER,
    IID_IPROVIDECLASSINFO, IID_IREMUNKNOWN, IID_IREMUNKNOWN2, IID_ISYSTEMACTIVATOR, IID_IWBEMBACKUPRESTORE,
    IID_IWBEMBACKUPRESTOREEX, IID_IWBEMCALLRESULT, IID_IWBEMFETCHSMARTENUM, IID_IWBEMLEVEL1LOGIN,
    IID_IWBEMLOGINCLIENTID, IID_IWBEMLOGINHELPER, IID_IWBEMOBJECTSINK, IID_IWBEMSERVICES, IID_IWBEMWCOSMARTENUM,
};
use crate::proto::dcerpc::{uuid_from_wire, ByteOrder};
use crate::uuid::Uuid;

/// More IIDs than any real QueryInterface batches; past this the rest are not reported.
const MAX_IIDS: usize = 64;
/// ORPC extensions seen in practice number one or two (MS-DCOM 2.2.21).
const MAX_EXTENTS: u32 = 16;

/// Reads NDR primitives from a stub; alignment is relative to the stub start (NDR aligns it to 8).
struct Ndr<'a> {
    buf: &'a [u8],
    pos: usize,
    order: ByteOrder,
}

impl<'a> Ndr<'a> {
    fn new(buf: &'a [u8], order: ByteOrder) -> Ndr<'a> {
        Ndr { buf, pos: 0, order }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    fn align(&mut self, n: usize) -> Option<()> {
        self.take((n - self.pos % n) % n).map(|_| ())
    }

    fn u16(&mut self) -> Option<u16> {
        self.align(2)?;
        let b: [u8; 2] = self.take(2)?.try_into().ok()?;
        Some(match self.order {
            ByteOrder::Big => u16::from_be_bytes(b),
            ByteOrder::Little => u16::from_le_bytes(b),
        })
    }

    fn u32(&mut self) -> Option<u32> {
        self.align(4)?;
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(match self.order {
            ByteOrder::Big => u32::from_be_bytes(b),
            ByteOrder::Little => u32::from_le_bytes(b),
        })
    }

    fn uuid(&mut self) -> Option<Uuid> {
        self.align(4)?;
        let order = self.order;
        uuid_from_wire(self.take(16)?, order)
    }
}

/// ORPCTHIS (MS-DCOM 2.2.13.3): version, flags, reserved, causality id, unique extensions pointer.
fn orpcthis(r: &mut Ndr<'_>) -> Option<()> {
    let _major = r.u16()?;
    let _minor = r.u16()?;
    let _flags = r.u32()?;
    let _reserved1 = r.u32()?;
    let _cid = r.uuid()?;
    if r.u32()? != 0 {
        extent_array(r)?;
    }
    Some(())
}

/// ORPC_EXTENT_ARRAY (MS-DCOM 2.2.21): size, reserved, unique pointer to an array of unique
/// pointers; each non-null one is followed (deferred, in order) by a conformant ORPC_EXTENT.
fn extent_array(r: &mut Ndr<'_>) -> Option<()> {
    let _size = r.u32()?;
    let _reserved = r.u32()?;
    if r.u32()? == 0 {
        return Some(());
    }
    let max_count = r.u32()?;
    if max_count > MAX_EXTENTS {
        return None;
    }
    let mut present = 0u32;
    for _ in 0..max_count {
        if r.u32()? != 0 {
            present += 1;
        }
    }
    for _ in 0..present {
        // Conformant struct: its max_count comes first, then id, size and the padded data.
        let data_len = r.u32()?;
        let _id = r.uuid()?;
        let _size = r.u32()?;
        r.take(usize::try_from(data_len).ok()?)?;
    }
    Some(())
}

/// IIDs asked for by an IRemUnknown/IRemUnknown2 RemQueryInterface request (opnum 3; MS-DCOM
/// 3.1.1.5.6.1.1). Empty when the stub is malformed, truncated or encrypted.
pub fn rem_query_interface_iids(stub: &[u8], order: ByteOrder) -> Vec<Uuid> {
    remqi_iids(stub, order).unwrap_or_default()
}

fn remqi_iids(stub: &[u8], order: ByteOrder) -> Option<Vec<Uuid>> {
    let mut r = Ndr::new(stub, order);
    orpcthis(&mut r)?;
    let _ripid = r.uuid()?;
    let _c_refs = r.u32()?;
    let c_iids = u32::from(r.u16()?);
    // `iids` is a top-level [in, size_is(cIids)] pointer, so a ref pointer with no referent id
    // (as Wireshark and Windows marshal it); accept a unique-pointer referent before it too.
    let first = r.u32()?;
    let count = if first == c_iids {
        first
    } else if first != 0 && r.u32()? == c_iids {
        c_iids
    } else {
        return None;
    };
    let wanted = usize::try_from(count).ok()?.min(MAX_IIDS);
    (0..wanted).map(|_| r.uuid()).collect()
}

type Methods = &'static [(u16, &'static str)];

const REMUNKNOWN: Methods = &[(3, "RemQueryInterface"), (4, "RemAddRef"), (5, "RemRelease")];
const REMUNKNOWN2: Methods =
    &[(3, "RemQueryInterface"), (4, "RemAddRef"), (5, "RemRelease"), (6, "RemQueryInterface2")];
// MS-DCOM 3.1.2.5.2.2 calls it IRemoteSCMActivator; opnums 0-2 are not used on the wire.
const SYSTEM_ACTIVATOR: Methods = &[(3, "RemoteGetClassObject"), (4, "RemoteCreateInstance")];
const ACTIVATION: Methods = &[(0, "RemoteActivation")];
const OBJECT_EXPORTER: Methods = &[
    (0, "ResolveOxid"),
    (1, "SimplePing"),
    (2, "ComplexPing"),
    (3, "ServerAlive"),
    (4, "ResolveOxid2"),
    (5, "ServerAlive2"),
];
// MS-WMI 3.1.4.x; ORPC interfaces start at opnum 3 after IUnknown's three.
const WBEM_LEVEL1_LOGIN: Methods =
    &[(3, "EstablishPosition"), (4, "RequestChallenge"), (5, "WBEMLogin"), (6, "NTLMLogin")];
const WBEM_SERVICES: Methods = &[
    (3, "OpenNamespace"),
    (4, "CancelAsyncCall"),
    (5, "QueryObjectSink"),
    (6, "GetObject"),
    (7, "GetObjectAsync"),
    (8, "PutClass"),
    (9, "PutClassAsync"),
    (10, "DeleteClass"),
    (11, "DeleteClassAsync"),
    (12, "CreateClassEnum"),
    (13, "CreateClassEnumAsync"),
    (14, "PutInstance"),
    (15, "PutInstanceAsync"),
    (16, "DeleteInstance"),
    (17, "DeleteInstanceAsync"),
    (18, "CreateInstanceEnum"),
    (19, "CreateInstanceEnumAsync"),
    (20, "ExecQuery"),
    (21, "ExecQueryAsync"),
    (22, "ExecNotificationQuery"),
    (23, "ExecNotificationQueryAsync"),
    (24, "ExecMethod"),
    (25, "ExecMethodAsync"),
];
const ENUM_WBEM_CLASS_OBJECT: Methods = &[(3, "Reset"), (4, "Next"), (5, "NextAsync"), (6, "Clone"), (7, "Skip")];
const WBEM_CALL_RESULT: Methods =
    &[(3, "GetResultObject"), (4, "GetResultString"), (5, "GetResultServices"), (6, "GetCallStatus")];
const WBEM_FETCH_SMART_ENUM: Methods = &[(3, "GetSmartEnum")];
const WBEM_WCO_SMART_ENUM: Methods = &[(3, "Next")];
const WBEM_OBJECT_SINK: Methods = &[(3, "Indicate"), (4, "SetStatus")];
const WBEM_LOGIN_CLIENT_ID: Methods = &[(3, "SetClientInfo")];
const WBEM_LOGIN_HELPER: Methods = &[(3, "SetEvent")];
const WBEM_BACKUP_RESTORE: Methods = &[(3, "Backup"), (4, "Restore")];
const WBEM_BACKUP_RESTORE_EX: Methods = &[(3, "Backup"), (4, "Restore"), (5, "Pause"), (6, "Resume")];
// MS-OAUT 3.1.4.
const DISPATCH: Methods = &[(3, "GetTypeInfoCount"), (4, "GetTypeInfo"), (5, "GetIDsOfNames"), (6, "Invoke")];
const MANAGED_OBJECT: Methods = &[(3, "GetSerializedBuffer"), (4, "GetObjectIdentity")];
const PROVIDE_CLASS_INFO: Methods = &[(3, "GetClassInfo")];

static METHODS: &[(Uuid, Methods)] = &[
    (IID_IREMUNKNOWN, REMUNKNOWN),
    (IID_IREMUNKNOWN2, REMUNKNOWN2),
    (IID_ISYSTEMACTIVATOR, SYSTEM_ACTIVATOR),
    (IID_IACTIVATION, ACTIVATION),
    (IID_IOBJECTEXPORTER, OBJECT_EXPORTER),
    (IID_IWBEMLEVEL1LOGIN, WBEM_LEVEL1_LOGIN),
    (IID_IWBEMSERVICES, WBEM_SERVICES),
    (IID_IENUMWBEMCLASSOBJECT, ENUM_WBEM_CLASS_OBJECT),
    (IID_IWBEMCALLRESULT, WBEM_CALL_RESULT),
    (IID_IWBEMFETCHSMARTENUM, WBEM_FETCH_SMART_ENUM),
    (IID_IWBEMWCOSMARTENUM, WBEM_WCO_SMART_ENUM),
    (IID_IWBEMOBJECTSINK, WBEM_OBJECT_SINK),
    (IID_IWBEMLOGINCLIENTID, WBEM_LOGIN_CLIENT_ID),
    (IID_IWBEMLOGINHELPER, WBEM_LOGIN_HELPER),
    (IID_IWBEMBACKUPRESTORE, WBEM_BACKUP_RESTORE),
    (IID_IWBEMBACKUPRESTOREEX, WBEM_BACKUP_RESTORE_EX),
    (IID_IDISPATCH, DISPATCH),
    (IID_IMANAGEDOBJECT, MANAGED_OBJECT),
    (IID_IPROVIDECLASSINFO, PROVIDE_CLASS_INFO),
];

/// Method name for an opnum of a DCOM/WMI interface the plugin knows, e.g. IRemUnknown2 3 →
/// "RemQueryInterface".
pub fn method_name(iface: &Uuid, opnum: u16) -> Option<&'static str> {
    let (_, methods) = METHODS.iter().find(|(u, _)| u == iface)?;
    methods.iter().find(|(op, _)| *op == opnum).map(|&(_, name)| name)
}

/// True for the two interfaces whose opnum 3 is RemQueryInterface.
pub fn is_rem_unknown(iface: &Uuid) -> bool {
    *iface == IID_IREMUNKNOWN || *iface == IID_IREMUNKNOWN2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::interfaces::IID_IUNKNOWN;

    use capgen::hex;

    fn put_u16(b: &mut Vec<u8>, order: ByteOrder, v: u16) {
        b.extend_from_slice(&match order {
            ByteOrder::Big => v.to_be_bytes(),
            ByteOrder::Little => v.to_le_bytes(),
        });
    }

    fn put_u32(b: &mut Vec<u8>, order: ByteOrder, v: u32) {
        b.extend_from_slice(&match order {
            ByteOrder::Big => v.to_be_bytes(),
            ByteOrder::Little => v.to_le_bytes(),
        });
    }

    fn put_uuid(b: &mut Vec<u8>, order: ByteOrder, u: &Uuid) {
        let x = u.0;
        put_u32(b, order, u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
        put_u16(b, order, u16::from_be_bytes([x[4], x[5]]));
        put_u16(b, order, u16::from_be_bytes([x[6], x[7]]));
        b.extend_from_slice(&x[8..]);
    }

    /// A RemQueryInterface request stub: ORPCTHIS (optionally with one extent), ripid, cRefs,
    /// cIids, optional referent, max_count and the IIDs.
    fn remqi(order: ByteOrder, extent: bool, referent: bool, iids: &[Uuid]) -> Vec<u8> {
        let mut b = Vec::new();
        put_u16(&mut b, order, 5);
        put_u16(&mut b, order, 7);
        put_u32(&mut b, order, 0);
        put_u32(&mut b, order, 0);
        put_uuid(&mut b, order, &Uuid([0x11; 16]));
        if extent {
            put_u32(&mut b, order, 0x0002_0000);
            put_u32(&mut b, order, 1); // size
            put_u32(&mut b, order, 0); // reserved
            put_u32(&mut b, order, 0x0002_0004); // extent array
            put_u32(&mut b, order, 2); // max_count = (1 + 1) & !1
            put_u32(&mut b, order, 0x0002_0008);
            put_u32(&mut b, order, 0);
            put_u32(&mut b, order, 8); // conformance of ORPC_EXTENT.data
            put_uuid(&mut b, order, &Uuid([0x22; 16]));
            put_u32(&mut b, order, 5);
            b.extend_from_slice(&[0xEE; 8]);
        } else {
            put_u32(&mut b, order, 0);
        }
        put_uuid(&mut b, order, &Uuid([0x33; 16]));
        put_u32(&mut b, order, 5);
        put_u16(&mut b, order, iids.len() as u16);
        b.extend_from_slice(&[0, 0]);
        if referent {
            put_u32(&mut b, order, 0x0002_000c);
        }
        put_u32(&mut b, order, iids.len() as u32);
        for iid in iids {
            put_uuid(&mut b, order, iid);
        }
        b
    }

    // Frame 94 of suricata-verify's dcerpc-ctxids: RemQueryInterface for IProvideClassInfo (stub only).
    const CTXIDS_REMQI_STUB: &str = "0500070000000000000000009a87db93eb5a844f97be637a19b65b22000000000c6c00006806ec0459ed1e9c6bcd2d8105000000010000000100000083b296b1b4ba1a10b69c00aa00341d07";

    #[test]
    fn real_remqueryinterface_for_iprovideclassinfo() {
        assert_eq!(rem_query_interface_iids(&hex(CTXIDS_REMQI_STUB), ByteOrder::Little), vec![IID_IPROVIDECLASSINFO]);
    }

    #[test]
    fn stub_straight_from_the_dcerpc_parser() {
        let pdu = hex(concat!(
            "050000831000000090001000060000004c0000000000030000f800006806ec04225c99ce1c620266",
            "0500070000000000000000009a87db93eb5a844f97be637a19b65b22000000000c6c00006806ec04",
            "59ed1e9c6bcd2d8105000000010000000100000083b296b1b4ba1a10b69c00aa00341d0700000000",
            "090504000000000001000000a53855e131b36bac02000000"
        ));
        let (p, _) = crate::proto::dcerpc::parse_pdu(&pdu).expect("request");
        let crate::proto::dcerpc::Body::Request(r) = p.body else { panic!("not a request") };
        assert_eq!(rem_query_interface_iids(r.stub, p.header.byte_order), vec![IID_IPROVIDECLASSINFO]);
    }

    #[test]
    fn case_study_managed_object_then_provide_class_info() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let stub = remqi(order, false, false, &[IID_IMANAGEDOBJECT, IID_IPROVIDECLASSINFO]);
            assert_eq!(rem_query_interface_iids(&stub, order), vec![IID_IMANAGEDOBJECT, IID_IPROVIDECLASSINFO]);
        }
    }

    #[test]
    fn orpc_extensions_are_skipped() {
        let stub = remqi(ByteOrder::Little, true, false, &[IID_IUNKNOWN]);
        assert_eq!(rem_query_interface_iids(&stub, ByteOrder::Little), vec![IID_IUNKNOWN]);
    }

    #[test]
    fn a_unique_pointer_referent_before_the_array_is_tolerated() {
        let stub = remqi(ByteOrder::Little, false, true, &[IID_IDISPATCH]);
        assert_eq!(rem_query_interface_iids(&stub, ByteOrder::Little), vec![IID_IDISPATCH]);
    }

    #[test]
    fn malformed_stubs_give_no_iids() {
        let good = remqi(ByteOrder::Little, true, false, &[IID_IMANAGEDOBJECT, IID_IDISPATCH]);
        for len in 0..good.len() {
            assert!(rem_query_interface_iids(&good[..len], ByteOrder::Little).is_empty(), "len {len}");
        }
        // max_count disagreeing with cIids.
        let mut bad = remqi(ByteOrder::Little, false, false, &[IID_IDISPATCH]);
        let at = bad.len() - 20;
        bad[at] = 9;
        assert!(rem_query_interface_iids(&bad, ByteOrder::Little).is_empty());
        // A huge declared count with a handful of bytes present.
        let mut huge = remqi(ByteOrder::Little, false, false, &[]);
        let n = huge.len();
        huge[n - 8..n - 6].copy_from_slice(&0xffffu16.to_le_bytes());
        huge[n - 4..].copy_from_slice(&0xffffu32.to_le_bytes());
        huge.extend_from_slice(&[0x44; 40]);
        assert!(rem_query_interface_iids(&huge, ByteOrder::Little).is_empty());
    }

    #[test]
    fn iids_are_capped() {
        let many: Vec<Uuid> = (0..100u8).map(|i| Uuid([i; 16])).collect();
        let stub = remqi(ByteOrder::Little, false, false, &many);
        assert_eq!(rem_query_interface_iids(&stub, ByteOrder::Little), many[..MAX_IIDS].to_vec());
    }

    #[test]
    fn mutated_stubs_never_panic() {
        let samples = [
            hex(CTXIDS_REMQI_STUB),
            remqi(ByteOrder::Little, true, false, &[IID_IMANAGEDOBJECT, IID_IDISPATCH]),
            remqi(ByteOrder::Big, true, true, &[IID_IUNKNOWN]),
        ];
        let mut rng = crate::testutil::XorShift(0x2545_F491_4F6C_DD1D);
        let mut next = move || rng.next();
        for _ in 0..20_000 {
            let mut b = samples[(next() % 3) as usize].clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % b.len() as u64) as usize;
                if next() % 5 == 0 {
                    b.truncate(at);
                    break;
                }
                b[at] = next() as u8;
            }
            let order = if next() % 2 == 0 { ByteOrder::Little } else { ByteOrder::Big };
            assert!(rem_query_interface_iids(&b, order).len() <= MAX_IIDS);
        }
    }

    #[test]
    fn method_names() {
        assert_eq!(method_name(&IID_IREMUNKNOWN2, 3), Some("RemQueryInterface"));
        assert_eq!(method_name(&IID_IREMUNKNOWN2, 6), Some("RemQueryInterface2"));
        assert_eq!(method_name(&IID_IREMUNKNOWN, 6), None);
        assert_eq!(method_name(&IID_ISYSTEMACTIVATOR, 4), Some("RemoteCreateInstance"));
        assert_eq!(method_name(&IID_IENUMWBEMCLASSOBJECT, 6), Some("Clone"));
        assert_eq!(method_name(&IID_IWBEMFETCHSMARTENUM, 3), Some("GetSmartEnum"));
        assert_eq!(method_name(&IID_IWBEMSERVICES, 18), Some("CreateInstanceEnum"));
        assert_eq!(method_name(&IID_IWBEMSERVICES, 24), Some("ExecMethod"));
        assert_eq!(method_name(&IID_IWBEMLEVEL1LOGIN, 6), Some("NTLMLogin"));
        assert_eq!(method_name(&IID_IOBJECTEXPORTER, 5), Some("ServerAlive2"));
        assert_eq!(method_name(&IID_IUNKNOWN, 0), None);
        assert!(is_rem_unknown(&IID_IREMUNKNOWN2) && !is_rem_unknown(&IID_IDISPATCH));
    }
}
